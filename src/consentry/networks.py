"""Named networks: where a registry lives, saved by `consentry deploy` or `consentry network add`
in $CONSENTRY_HOME/networks.toml, and how `--network local|URL|NAME` becomes a target.

    [networks."base-sepolia"]
    rpc_env = "BASE_SEPOLIA_RPC"     # or: rpc = "https://..." (the URL, which may hold an API key)
    chain_id = 84532
    registry = "0x..."
    deploy_block = 18234567
    confirmations = 12
    log_range = 2000                 # optional: the provider's eth_getLogs block cap

TOML because people edit this file by hand; Python reads it with the standard library's tomllib,
and the values are flat strings and integers, so the ~20-line writer below needs no dependency.
The file is mode 0600: an `rpc` URL can carry a provider's API key (prefer `rpc_env`)."""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from dataclasses import asdict, dataclass, fields, replace

from . import config
from .errors import ChainError, UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Network:
    name: str
    rpc: str | None = None
    rpc_env: str | None = None
    chain_id: int | None = None
    registry: str | None = None
    deploy_block: int = 0
    confirmations: int | None = None
    log_range: int | None = None
    tokens: str | None = None  # fee tokens by symbol: "USDC=0x…,EURC=0x…"

    def token_map(self) -> dict[str, str]:
        return parse_tokens(self.tokens)

    def url(self) -> str:
        if self.rpc:
            return self.rpc
        if self.rpc_env:
            value = os.environ.get(self.rpc_env, "").strip()
            if not value:
                raise ChainError(f"network {self.name!r} reads its RPC URL from ${self.rpc_env}, which is not set")
            return value
        raise ChainError(f"network {self.name!r} has no RPC URL: `consentry network add {self.name} --rpc URL ...`")

    def public(self) -> dict:
        """The profile without secrets: the URL shown by host only."""
        from .endpoint import host_of

        d = {k: v for k, v in asdict(self).items() if v is not None}
        if self.rpc:
            d["rpc"] = host_of(self.rpc)
        return d


@dataclass(frozen=True)
class Target:
    """What a command talks to: an RPC URL and what is known about the registry there."""

    url: str
    name: str  # 'local', a profile name, or the URL's host
    registry: str | None
    chain_id: int | None  # expected chain id (None: whatever the endpoint says)
    deploy_block: int = 0
    confirmations: int | None = None
    log_range: int | None = None
    local: bool = False
    tokens: dict | None = None  # fee tokens by symbol


def parse_tokens(text: str | None) -> dict[str, str]:
    """'USDC=0x…,EURC=0x…' -> {'USDC': '0x…', 'EURC': '0x…'}; UsageError on a malformed entry."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        symbol, _, address = item.partition("=")
        symbol, address = symbol.strip().upper(), address.strip()
        if not re.fullmatch(r"[A-Z][A-Z0-9]{0,15}", symbol) or not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
            raise UsageError(
                f"bad token {item.strip()!r}: give SYMBOL=ADDRESS, e.g. USDC=0x036CbD53842c5426634e7929541eC2318f3dCF7e"
            )
        out[symbol] = address
    return out


def path():
    return config.home() / "networks.toml"


def check_name(name: str) -> str:
    if not _NAME.match(name) or name == "local" or name.startswith("http"):
        raise UsageError(f"bad network name {name!r}: use letters, digits, '.', '_' or '-' (not 'local')")
    return name


def load() -> dict[str, Network]:
    p = path()
    if not p.exists():
        return {}
    try:
        data = tomllib.loads(p.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"cannot read {p}: {e}") from None
    known = {f.name for f in fields(Network)} - {"name"}
    out = {}
    for name, table in (data.get("networks") or {}).items():
        if isinstance(table, dict):
            out[name] = Network(name=name, **{k: v for k, v in table.items() if k in known})
    return out


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v))  # a JSON string with ASCII escapes is a valid TOML basic string


def dumps(nets: dict[str, Network]) -> str:
    lines = ["# Consentry network profiles (`consentry network list`); written by `consentry deploy`", ""]
    for name in sorted(nets):
        lines.append(f"[networks.{json.dumps(name)}]")
        for k, v in asdict(nets[name]).items():
            if k != "name" and v is not None:
                lines.append(f"{k} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)


def save(net: Network) -> None:
    check_name(net.name)
    nets = load()
    nets[net.name] = net
    config.ensure_home()
    from .files import write_bytes_atomic

    write_bytes_atomic(path(), dumps(nets).encode(), mode=0o600)


def get(name: str) -> Network:
    nets = load()
    if name in nets:
        return nets[name]
    close = difflib.get_close_matches(name, list(nets), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known = ", ".join(sorted(nets)) or "none yet"
    raise UsageError(
        f"unknown network {name!r}{hint}: give 'local', an http(s) RPC URL, or a saved network "
        f"(known: {known}; `consentry network add`)"
    )


def update(name: str, **changes) -> Network:
    net = replace(get(name), **changes)
    save(net)
    return net


def resolve(network: str | None, registry: str | None = None, chain_id: int | None = None) -> Target:
    """`--network local|URL|NAME` (+ `--registry`, `--chain-id`) as a target; explicit options win."""
    from . import node

    network = network or "local"
    if network == "local":
        info = node.running()
        if not info:
            raise ChainError("no local node running: start one with `consentry node start`")
        same = registry is None or registry.lower() == str(info.get("registry")).lower()
        return Target(
            info["rpc_url"],
            "local",
            registry or info.get("registry"),
            chain_id or info.get("chain_id"),
            (info.get("deploy_block") or 0) if same else 0,
            0,
            None,
            local=True,
            tokens=(info.get("tokens") or {}) if same else {},
        )
    if network.startswith("http://") or network.startswith("https://"):
        from .endpoint import host_of

        return Target(network, host_of(network), registry, chain_id)
    if "://" in network:
        raise UsageError("--network takes 'local', an http(s) RPC URL, or a saved network name")
    net = get(network)
    same = registry is None or (net.registry or "").lower() == registry.lower()
    return Target(
        net.url(),
        net.name,
        registry or net.registry,
        chain_id or net.chain_id,
        net.deploy_block if same else 0,
        net.confirmations,
        net.log_range,
        tokens=net.token_map(),
    )
