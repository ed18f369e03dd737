"""Chain-free fast paths (no web3 import): plain JSON-RPC calls through the one endpoint layer
(`endpoint.py`: retries, deadline, host-only errors), and `resolve`, which turns `--network`,
`--registry` and `--chain-id` into a checked target: the chain id asked once, and the registry
proven by one `version()` call."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .endpoint import Endpoint, RpcError
from .errors import ChainError
from .networks import Target, resolve as resolve_target

_VERSION = "0x54fd4d50"  # keccak256("version()")[:4]
_EVM_WORDS = re.compile(
    r"invalid opcode|opcode.*(not|in)valid|not ?activated|unknown opcode|undefined instruction|"
    r"invalid instruction|bad instruction|unsupported opcode",
    re.I,
)


def endpoint(url: str) -> Endpoint:
    return Endpoint.for_url(url)


def request(url: str, method: str, params: list | None = None, timeout: float = 10):
    return Endpoint.for_url(url).call(method, params)


def block_number(url: str) -> int:
    return Endpoint.for_url(url).block_number()


@dataclass(frozen=True)
class Resolved:
    rpc_url: str
    registry: str
    chain_id: int
    deploy_block: int
    target: Target
    ep: Endpoint

    @property
    def host(self) -> str:
        return self.ep.host


def check_chain(ep: Endpoint, expected: int | None, name: str = "") -> int:
    actual = ep.chain_id
    if expected is not None and actual != expected:
        where = f"network {name!r} ({ep.host})" if name and name != ep.host else ep.host
        raise ChainError(f"wrong chain: {where} has chain id {actual}, expected {expected}", code="wrong_chain")
    return actual


def check_registry(ep: Endpoint, registry: str, chain_id: int) -> None:
    """One eth_call of version(): code is there, it is a registry, and this node can run it."""
    try:
        out = ep.call("eth_call", [{"to": registry, "data": _VERSION}, "latest"])
    except RpcError as e:
        if _EVM_WORDS.search(e.rpc_message):
            raise evm_unsupported(ep, e.rpc_message) from None
        raise ChainError(
            f"the contract at {registry} on chain {chain_id} is not a Consentry registry ({e.rpc_message[:80]})"
        ) from None
    if out in ("0x", "", None):
        raise ChainError(f"no contract at {registry} on chain {chain_id} ({ep.host}): check --registry and --network")
    if not isinstance(out, str) or len(out) < 2 + 128:
        raise ChainError(f"the contract at {registry} on chain {chain_id} is not a Consentry registry")
    version = _abi_string(out)
    if version is None or not version.startswith(COMPATIBLE_REGISTRY):
        raise ChainError(
            f"the registry at {registry} on chain {chain_id} is version {version!r}; this Consentry "
            f"speaks {COMPATIBLE_REGISTRY}x (its events and imprints differ): use a matching client, "
            "or deploy this version's registry with `consentry deploy`",
            code="registry_version",
        )


COMPATIBLE_REGISTRY = "2.3."  # the registry versions this client reads and writes (contracts/ConsentRegistry.sol)


def _abi_string(out: str) -> str | None:
    """An ABI-encoded string return value, or None when it is not one."""
    try:
        raw = bytes.fromhex(out[2:])
        offset = int.from_bytes(raw[:32], "big")
        length = int.from_bytes(raw[offset : offset + 32], "big")
        if offset != 32 or length > 64 or len(raw) < offset + 32 + length:
            return None
        return raw[offset + 32 : offset + 32 + length].decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None


def evm_unsupported(ep: Endpoint, why: str) -> ChainError:
    from .chain_artifact import artifact

    target = artifact().get("compiler", {}).get("settings", {}).get("evmVersion", "?")
    return ChainError(
        f"the node at {ep.host} cannot run the registry's code, built for the '{target}' EVM "
        f"({why[:80]}): use a node or chain that supports it",
        code="evm_unsupported",
    )


def resolve(network: str = "local", registry: str | None = None, chain_id: int | None = None) -> Resolved:
    """Where the registry is (the local node, an RPC URL with --registry, or a saved network);
    checks the chain id (once per process) and that the registry answers."""
    t = resolve_target(network, registry, chain_id)
    if not t.registry:
        raise ChainError(
            "no registry address: pass --registry ADDRESS (or set CONSENTRY_REGISTRY), or use a "
            "network saved by `consentry deploy` / `consentry network add`"
        )
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", t.registry):
        raise ChainError(f"--registry {t.registry!r} is not an address")
    ep = Endpoint.for_url(t.url)
    actual = check_chain(ep, t.chain_id, t.name)
    check_registry(ep, t.registry, actual)
    return Resolved(t.url, t.registry, actual, t.deploy_block, t, ep)
