"""The consentry command line: thin commands over the library. The only module importing click.

Exit codes: 0 ok / authorised, 1 error, 2 usage, 3 checked and not authorised."""

from __future__ import annotations

import json
import os
import re
import sys
from functools import wraps
from pathlib import Path

# the few small matrix products here gain nothing from BLAS threads, whose start-up costs ~20 ms
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from . import __version__, config, params, termsdoc, vocab
from .errors import ConsentryError, KeystoreError, Reverted, UsageError
from .text import safe

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_AUTHORISED = 0, 1, 2, 3
DEV_CHAIN_IDS = (31337, 1337)  # anvil/hardhat and ganache defaults: no reorgs of their own
PUBLIC_CONFIRMATIONS = 12  # default on any other chain
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# ---------------------------------------------------------------- output


def _json_mode() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("json_output"))


def emit(obj: dict, human: str | list[str] | None = None) -> None:
    """Print one JSON object (with --json) or the human text."""
    if _json_mode():
        click.echo(json.dumps({"schema_version": config.SCHEMA_VERSION, **obj}, indent=2, sort_keys=True, default=str))
    elif human is not None:  # every line made printable: names and paths come from chain and files
        text = human if isinstance(human, str) else "\n".join(human)
        click.echo("\n".join(safe(line) for line in text.split("\n")))


def progress(length: int, label: str):
    """A progress bar on stderr when it is a terminal; otherwise a no-op with the same interface."""
    if sys.stderr.isatty() and not _json_mode():
        return click.progressbar(length=length, label=label, file=sys.stderr)

    class _Quiet:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def update(self, n):
            pass

    return _Quiet()


GLOBAL_VALUE_OPTIONS = ("--network", "--registry", "--chain-id", "--index", "--max-fee", "--priority-fee", "--gas-price")
GLOBAL_FLAGS = ("--json",)


def hoist_global_options(argv: list[str]) -> list[str]:
    """Global options are accepted anywhere on the line (`consentry verify x.jpg --json`), as with
    git and gh: move the ones given after the subcommand to the front. No subcommand has options of
    these names, so nothing is taken from one; `--` ends the options."""
    front, rest, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest += argv[i:]
            break
        name = a.split("=", 1)[0]
        if a in GLOBAL_FLAGS:
            front.append(a)
        elif name in GLOBAL_VALUE_OPTIONS and "=" in a:
            front.append(a)
        elif a in GLOBAL_VALUE_OPTIONS and i + 1 < len(argv):
            front += [a, argv[i + 1]]
            i += 1
        else:
            rest.append(a)
        i += 1
    return front + rest


class ConsentryGroup(click.Group):
    LAZY = {"serve": ("consentry.serve", "serve_command")}  # imported when used (a web stack costs start-up)

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx, name):
        if name in self.LAZY and name not in self.commands:
            import importlib

            module, attr = self.LAZY[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def main(self, args=None, *rest, **kwargs):
        kwargs["standalone_mode"] = False
        global _NAMES, _ON_DEV_CHAIN
        _NAMES = None  # names are read again for each command (a CliRunner test runs many in one process)
        _ON_DEV_CHAIN = None
        _LIGHT_SIGNERS.clear()
        endpoint = sys.modules.get("consentry.endpoint")  # imported only by commands that reach a chain
        if endpoint is not None:
            endpoint.reset()  # one chain id per endpoint and process: a CliRunner test is many "processes"
        argv = hoist_global_options(list(args) if args is not None else sys.argv[1:])
        args = argv
        try:
            rv = super().main(argv, *rest, **kwargs)
            sys.exit(rv if isinstance(rv, int) else 0)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.exceptions.Abort:
            _fail("aborted", EXIT_ERROR, args, "aborted")
        except click.ClickException as e:
            usage = isinstance(e, click.UsageError)
            _fail(
                e.format_message(),
                EXIT_USAGE if usage else EXIT_ERROR,
                args,
                "usage" if usage else "error",
                usage=e if usage else None,
            )
        except UsageError as e:
            _fail(_name_addresses(str(e)), EXIT_USAGE, args, e.code)
        except ConsentryError as e:
            details = {k: str(v) if isinstance(v, int) and abs(v) > 2**53 else v for k, v in getattr(e, "error_args", {}).items()}
            _fail(_name_addresses(str(e)), EXIT_ERROR, args, e.code, details)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_ERROR, args, "interrupted")
        except Exception as e:  # a bug: still one line, the traceback only on request
            if os.environ.get("CONSENTRY_DEBUG"):
                raise
            _fail(
                f"internal error: {type(e).__name__}: {e} (set CONSENTRY_DEBUG=1 for the traceback)", EXIT_ERROR, args, "internal"
            )


def _fail(message: str, code: int, argv, error_code: str = "error", details: dict | None = None, usage=None):
    """One line on stderr, or with --json one object: error, error_code (stable: the registry's custom
    error name when it reverted, else the CLI's own), details, exit_code. RPC URLs (which carry API
    keys) are shown by host only."""
    message = _hide_urls(message)
    if "--json" in argv:
        click.echo(
            json.dumps(
                {
                    "schema_version": config.SCHEMA_VERSION,
                    "error": message,
                    "error_code": error_code,
                    "details": details or {},
                    "exit_code": code,
                },
                indent=2,
                sort_keys=True,
                default=str,
            )
        )
    else:
        if usage is not None and usage.ctx is not None and not isinstance(usage, click.BadParameter):
            click.echo(usage.ctx.get_usage(), err=True)  # a bad value names its option: one line is enough
        click.echo(f"Error: {safe(message)}", err=True)
    sys.exit(code)


def _hide_urls(text: str) -> str:
    import re

    from .endpoint import host_of

    return re.sub(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)]+", lambda m: host_of(m.group(0)), text)


# ---------------------------------------------------------------- shared options


def signer_options(fn):
    @click.option("--as", "as_", required=True, metavar="NAME|ADDRESS", help="Account that signs (keystore name or address).")
    @click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the keystore password.")
    @wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def _read_password(password_file: str | None, confirm: bool = False) -> str:
    if password_file:
        try:
            return Path(password_file).read_text().rstrip("\r\n")
        except OSError as e:
            raise UsageError(f"cannot read the password file {password_file}: {e.strerror}") from None
    env = os.environ.get("CONSENTRY_PASSWORD")
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise KeystoreError("no password: set CONSENTRY_PASSWORD, pass --password-file, or run in a terminal")
    return click.prompt("Keystore password", hide_input=True, confirmation_prompt=confirm, err=True)


_LIGHT_SIGNERS: list[str] = []  # light keystores unlocked by this command
_ON_DEV_CHAIN: bool | None = None  # what the command connected to (None: nothing yet)


def signer(as_: str, password_file: str | None):
    from . import keys

    info = keys.find(as_)
    account_ = keys.unlock(info, _read_password(password_file))
    if keys.is_light(info):
        _LIGHT_SIGNERS.append(info.name)
        _warn_light_keys()
    return account_


def _warn_light_keys() -> None:
    """A light keystore (CONSENTRY_LIGHT_KDF) signing on a chain that is not a development chain: say so once."""
    if _LIGHT_SIGNERS and _ON_DEV_CHAIN is False:
        names = ", ".join(sorted(set(_LIGHT_SIGNERS)))
        click.echo(
            f"warning: account {names} has a light keystore (cheap scrypt, made with CONSENTRY_LIGHT_KDF) and signs on a "
            "public chain: create or import it again without CONSENTRY_LIGHT_KDF",
            err=True,
        )
        _LIGHT_SIGNERS.clear()


def address_of(name_or_address: str) -> str:
    """An address given directly or by account name."""
    s = name_or_address.strip()
    if s.startswith("0x") and len(s) == 42:
        from eth_utils import is_address, to_checksum_address

        if not is_address(s):
            raise UsageError(f"{s!r} is not a valid address")
        return to_checksum_address(s)
    from . import keys

    return keys.find(s).address


def _root() -> dict:
    return click.get_current_context().find_root().params


def fee_options():
    from .txs import FeeOptions

    root = _root()
    return FeeOptions.parse(root.get("max_fee"), root.get("priority_fee"), root.get("gas_price"))


def connect():
    from . import chain

    root = _root()
    registry = root.get("registry") or os.environ.get("CONSENTRY_REGISTRY")
    global _ON_DEV_CHAIN
    ch = chain.connect(root.get("network") or "local", registry, root.get("chain_id"), fee_options())
    _ON_DEV_CHAIN = bool(ch.dev)
    _warn_light_keys()
    return ch


def registry_():
    """The typed facade over the chosen network and registry (`registry.Registry`)."""
    from .registry import Registry

    return Registry(connect())


# ---------------------------------------------------------------- root


@click.group(cls=ConsentryGroup, context_settings=CONTEXT)
@click.option(
    "--network",
    default="local",
    show_default=True,
    envvar="CONSENTRY_NETWORK",
    help="'local' (the embedded chain), an EVM JSON-RPC URL, or a saved network's name.",
)
@click.option("--registry", metavar="ADDRESS", help="Registry address (needed with an RPC URL).")
@click.option("--chain-id", type=int, help="Refuse to act unless the RPC's chain id is this.")
@click.option("--index", "index_path", type=click.Path(dir_okay=False), help="SQLite index (default $CONSENTRY_HOME/index.db).")
@click.option(
    "--max-fee",
    metavar="AMOUNT",
    envvar="CONSENTRY_MAX_FEE",
    help="EIP-1559 maxFeePerGas for transactions, e.g. 3gwei [default: 2 x base fee + tip].",
)
@click.option(
    "--priority-fee",
    metavar="AMOUNT",
    envvar="CONSENTRY_PRIORITY_FEE",
    help="EIP-1559 maxPriorityFeePerGas (tip), e.g. 0.01gwei [default: the node's suggestion].",
)
@click.option(
    "--gas-price",
    metavar="AMOUNT",
    envvar="CONSENTRY_GAS_PRICE",
    help="Send legacy transactions at this gasPrice [default on chains without EIP-1559: eth_gasPrice].",
)
@click.option("json_output", "--json", is_flag=True, help="Print one JSON object (errors too).")
@click.version_option(version=__version__, prog_name="consentry")
def cli(network, registry, chain_id, index_path, max_fee, priority_fee, gas_price, json_output):
    """Consentry: consent records for fashion models' digital twins, anchored on an EVM chain.

    \b
    Example:
        consentry node start && consentry account create ana --fund
    """


# ---------------------------------------------------------------- node


@cli.group()
def node():
    """The embedded local chain (anvil), with the registry deployed."""


@node.command("start")
@click.option("--port", type=int, default=config.DEFAULT_PORT, show_default=True)
def node_start(port):
    """Start the local chain (state kept in $CONSENTRY_HOME/node) and deploy the registry once.

    \b
    Example:
        consentry node start
    """
    from . import chain, node as nodemod

    info, started = nodemod.start(port, deploy=chain.deploy_local)
    emit(
        {"started": started, **_node_fields(info)},
        [
            ("started" if started else "already running") + f" local chain at {info['rpc_url']}",
            f"registry {info['registry']} (chain id {info['chain_id']})",
            *[
                f"test {symbol} {address} (fees in it: --fee 2.5{symbol})"
                for symbol, address in (info.get("tokens") or {}).items()
            ],
        ],
    )


def _node_fields(info):
    return {
        "rpc_url": info["rpc_url"],
        "chain_id": info["chain_id"],
        "registry": info["registry"],
        "tokens": info.get("tokens") or {},
        "pid": info.get("pid"),
    }


@node.command("stop")
def node_stop():
    """Stop the local chain, saving its state.

    \b
    Example:
        consentry node stop
    """
    from . import node as nodemod

    stopped = nodemod.stop()
    emit({"stopped": stopped}, "stopped" if stopped else "no local chain was running")


@node.command("status")
def node_status():
    """Show the local chain's RPC URL, chain id, block and registry.

    \b
    Example:
        consentry node status
    """
    from . import node as nodemod
    from .rpc import block_number

    info = nodemod.running()
    if not info:
        emit({"running": False}, "not running (start it with `consentry node start`)")
        return EXIT_ERROR
    block = block_number(info["rpc_url"])
    emit(
        {"running": True, "block": block, **_node_fields(info)},
        [
            f"running   {info['rpc_url']} (pid {info['pid']})",
            f"chain id  {info['chain_id']}",
            f"block     {block}",
            f"registry  {info['registry']}",
        ],
    )


# ---------------------------------------------------------------- deploy and networks


@cli.command("deploy")
@signer_options
@click.option(
    "--name",
    "save_as",
    help="Save the network profile under this name [default: the --network "
    "name when it is a saved network, else chain-<id>; nothing is saved for 'local' without --name].",
)
@click.option(
    "--rpc-env",
    metavar="VAR",
    help="Read the RPC URL from this environment variable, and save the "
    "variable's name in the profile instead of the URL (which may hold an API key).",
)
@click.option(
    "--confirmations",
    type=click.IntRange(0),
    help=f"Saved for `sync` [default: 0 on development chains, {PUBLIC_CONFIRMATIONS} elsewhere].",
)
@click.option("--log-range", type=click.IntRange(1), help="Saved for `sync`: the provider's eth_getLogs block cap.")
def deploy_cmd(as_, password_file, save_as, rpc_env, confirmations, log_range):
    """Deploy the registry from the committed artifact, check the node runs it, and save a network
    profile (RPC, chain id, registry, deploy block) that --network NAME then uses.

    \b
    Example:
        export BASE_SEPOLIA_RPC=https://...        # your provider's URL, with its key
        consentry deploy --rpc-env BASE_SEPOLIA_RPC --name base-sepolia --as deployer
        consentry --network base-sepolia sync
    """
    from . import chain, networks

    root = _root()
    network = root.get("network") or "local"
    profile = None
    if rpc_env:
        url = os.environ.get(rpc_env, "").strip()
        if not url:
            raise UsageError(f"${rpc_env} is not set: export it with your RPC URL")
        local = False
    else:
        if network not in ("local",) and "://" not in network:
            profile = networks.get(network)
        t = networks.resolve(network, None, None)
        url, local = t.url, t.local
    expected = root.get("chain_id") or (profile.chain_id if profile else None)
    account_ = signer(as_, password_file)
    ch = chain.bare(url, fee_options(), local=local)
    if expected is not None and ch.chain_id != expected:
        raise click.ClickException(f"wrong chain: {ch.ep.host} has chain id {ch.chain_id}, expected {expected}")
    click.echo(f"deploying the registry to chain {ch.chain_id} ({ch.ep.host}) from {account_.address}…", err=True)
    d = chain.deploy_checked(ch, account_)
    name = save_as or (profile.name if profile else (None if local else f"chain-{d.chain_id}"))
    if confirmations is None:
        confirmations = (
            profile.confirmations
            if profile and profile.confirmations is not None
            else (0 if local or d.chain_id in DEV_CHAIN_IDS or chain._is_dev_node(ch.ep) else PUBLIC_CONFIRMATIONS)
        )
    if name:
        keep = profile if profile and profile.name == name else None
        net = networks.Network(
            name=networks.check_name(name),
            rpc=None if rpc_env else (keep.rpc if keep else url),
            rpc_env=rpc_env or (keep.rpc_env if keep else None),
            chain_id=d.chain_id,
            registry=d.registry,
            deploy_block=d.block,
            confirmations=confirmations,
            log_range=log_range or (keep.log_range if keep else None),
            tokens=keep.tokens if keep else None,
        )
        networks.save(net)
    emit(
        {
            "registry": d.registry,
            "block": d.block,
            "tx": d.tx,
            "chain_id": d.chain_id,
            "gas_used": d.gas_used,
            "version": d.version,
            "network": name,
            "host": ch.ep.host,
        },
        [
            f"registry {d.registry} deployed on chain {d.chain_id} ({ch.ep.host}) at block {d.block}",
            f"tx {d.tx} (gas {d.gas_used:,}); version() answers {d.version!r}",
        ]
        + ([f"saved network '{name}' in {networks.path()}: use --network {name}"] if name else []),
    )


@cli.group("network")
def network_group():
    """Saved networks: RPC URL (or the variable holding it), chain id, registry, deploy block."""


@network_group.command("add")
@click.argument("name")
@click.option("--rpc", "rpc", metavar="URL", help="The RPC URL (stored in the file, mode 0600).")
@click.option("--rpc-env", metavar="VAR", help="The environment variable holding the RPC URL (stored instead).")
@click.option(
    "--deploy-block",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="The registry's deployment block: where sync starts.",
)
@click.option(
    "--confirmations",
    type=click.IntRange(0),
    help=f"Blocks sync waits for [default: 0 on development chains, {PUBLIC_CONFIRMATIONS} elsewhere].",
)
@click.option("--log-range", type=click.IntRange(1), help="The provider's eth_getLogs block cap, if known.")
@click.option("--no-check", is_flag=True, help="Save without asking the endpoint (chain id from --chain-id).")
@click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar="SYMBOL=ADDRESS",
    help="A fee token on this network, e.g. USDC=0x036C… (repeatable); then `--fee 2.5USDC` works.",
)
def network_add(name, rpc, rpc_env, deploy_block, confirmations, log_range, no_check, tokens):
    """Save a network: give --registry and --chain-id as usual; the endpoint is asked for its chain
    id and the registry is checked unless --no-check.

    \b
    Example:
        consentry network add base-sepolia --rpc-env BASE_SEPOLIA_RPC --registry 0x... --deploy-block 18234567
    """
    from . import networks
    from .endpoint import Endpoint
    from .rpc import check_chain, check_registry

    networks.check_name(name)
    if bool(rpc) == bool(rpc_env):
        raise UsageError("give the RPC as --rpc URL or --rpc-env VAR (one of them)")
    root = _root()
    registry = root.get("registry") or os.environ.get("CONSENTRY_REGISTRY")
    if registry:
        import re

        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", registry):
            raise UsageError(f"--registry {registry!r} is not an address")
    net = networks.Network(
        name=name,
        rpc=rpc,
        rpc_env=rpc_env,
        chain_id=root.get("chain_id"),
        registry=registry,
        deploy_block=deploy_block,
        confirmations=confirmations,
        log_range=log_range,
        tokens=",".join(f"{k}={v}" for k, v in networks.parse_tokens(",".join(tokens)).items()) or None,
    )
    if rpc and not (rpc.startswith("http://") or rpc.startswith("https://")):
        raise UsageError("--rpc takes an http(s) URL")
    if not no_check:
        ep = Endpoint.for_url(net.url())
        chain_id = check_chain(ep, net.chain_id, name)
        if registry:
            check_registry(ep, registry, chain_id)
        net = networks.Network(**{**net.__dict__, "chain_id": chain_id})
    elif net.chain_id is None:
        raise UsageError("--no-check needs --chain-id")
    if net.confirmations is None:
        net = networks.Network(**{**net.__dict__, "confirmations": 0 if net.chain_id in DEV_CHAIN_IDS else PUBLIC_CONFIRMATIONS})
    if not net.registry:
        click.echo(
            f"warning: network '{name}' has no registry address: commands on it need --registry ADDRESS, or save it "
            "again with `consentry --registry ADDRESS network add ...`",
            err=True,
        )
    networks.save(net)
    emit({"network": net.public()}, f"saved network '{name}' (chain {net.chain_id}) in {networks.path()}")


@network_group.command("list")
def network_list():
    """The saved networks (RPC URLs shown by host only).

    \b
    Example:
        consentry network list
    """
    from . import networks

    nets = networks.load()
    rows = [n.public() for n in nets.values()]
    emit(
        {"networks": rows},
        [
            f"{n.name:16} chain {n.chain_id!s:>8}  {n.public().get('rpc') or '$' + str(n.rpc_env):28} "
            f"registry {n.registry or '-'} from block {n.deploy_block}"
            for n in nets.values()
        ]
        or ["no saved networks (`consentry deploy` or `consentry network add` saves one)"],
    )


@network_group.command("show")
@click.argument("name")
def network_show(name):
    """One saved network's profile (the RPC URL by host only).

    \b
    Example:
        consentry network show base-sepolia
    """
    from . import networks

    d = networks.get(name).public()
    emit({"network": d}, [f"{k:14} {v}" for k, v in d.items()])


# ---------------------------------------------------------------- accounts


@cli.group()
def account():
    """Encrypted keystores (Ethereum V3 JSON) in $CONSENTRY_HOME/keystore."""


def _funding_chain():
    """For --fund: the chosen network, which must be the local chain or a development node (checked
    before any keystore is written)."""
    from . import chain, networks

    root = _root()
    network = root.get("network") or "local"
    if network == "local":
        from . import node as nodemod

        if not nodemod.running():
            raise UsageError("--fund needs the local chain: start it with `consentry node start`")
    t = networks.resolve(network, None, root.get("chain_id"))
    ch = chain.bare(t.url, fee_options(), local=t.local)
    ch.tokens = dict(t.tokens or {})
    if t.chain_id is not None and ch.chain_id != t.chain_id:
        raise UsageError(f"wrong chain: {ch.ep.host} has chain id {ch.chain_id}, expected {t.chain_id}")
    chain.require_fundable(ch)
    return ch


def _fund(ch, address: str, amount_wei: int) -> str:
    """Ether from the dev account, and 10,000 of each test token this chain knows (the embedded chain's USDC)."""
    from . import chain

    tx = chain.fund(ch, address, amount_wei)
    chain.mint_test_tokens(ch, address)
    return tx


def _funded_words(ch) -> str:
    return " (funded with 100 ether" + "".join(f" and 10,000 {s}" for s in sorted(ch.tokens)) + ")"


@account.command("create")
@click.argument("name")
@click.option("--fund", is_flag=True, help="On the local chain (or a dev node), send it 100 ether from the dev account.")
@click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the new password.")
def account_create(name, fund, password_file):
    """Create a new account with a random key, encrypted with a password.

    \b
    Example:
        consentry account create ana --fund
    """
    from . import keys

    keys.check_name(name)
    ch = _funding_chain() if fund else None
    info = keys.create(name, _read_password(password_file, confirm=True))
    funded = _fund(ch, info.address, 100 * 10**18) if fund else None
    emit(
        {"name": info.name, "address": info.address, "keystore": str(info.path), "funded_tx": funded},
        f"created {info.name} {info.address}" + (_funded_words(ch) if funded else ""),
    )


@account.command("import")
@click.argument("name")
@click.option("--key-file", type=click.Path(dir_okay=False), help="File holding the private key (hex); else a hidden prompt.")
@click.option("--fund", is_flag=True, help="On the local chain (or a dev node), send it 100 ether from the dev account.")
@click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the new password.")
def account_import(name, key_file, fund, password_file):
    """Import a private key into an encrypted keystore.

    \b
    Example:
        consentry account import agency --key-file key.txt
    """
    from . import keys

    keys.check_name(name)
    ch = _funding_chain() if fund else None
    if key_file:
        try:
            key = Path(key_file).read_text()
        except OSError as e:
            raise UsageError(f"cannot read the key file {key_file}: {e.strerror}") from None
    elif sys.stdin.isatty():
        key = click.prompt("Private key (hex)", hide_input=True, err=True)
    else:
        raise UsageError("give the key with --key-file (or run in a terminal for a hidden prompt)")
    info = keys.import_key(name, key, _read_password(password_file, confirm=True))
    funded = _fund(ch, info.address, 100 * 10**18) if fund else None
    emit(
        {"name": info.name, "address": info.address, "keystore": str(info.path), "funded_tx": funded},
        f"imported {info.name} {info.address}" + (_funded_words(ch) if funded else ""),
    )


@account.command("list")
def account_list():
    """List the accounts in the keystore folder.

    \b
    Example:
        consentry account list
    """
    from . import keys

    accts = keys.list_accounts()
    emit(
        {"accounts": [{"name": a.name, "address": a.address} for a in accts]},
        [f"{a.name:20} {a.address}" for a in accts] or ["no accounts (create one with `consentry account create NAME`)"],
    )


# ---------------------------------------------------------------- twins


@cli.group()
def twin():
    """Register and withdraw digital twins."""


def _fingerprints(paths, label):
    from .parallel import fingerprint_all

    with progress(len(paths), label) as bar:
        return fingerprint_all(paths, progress=bar.update)


@twin.command("register")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@signer_options
@click.option("--name", help="The twin's display name (in the metadata document).")
@click.option("--agency", help="The model's agency (in the metadata document).")
@click.option("--notes", help="Free notes (in the metadata document).")
@click.option("--metadata-uri", default="", help="Where the metadata document will be published.")
@click.option("--manifest", "manifest_out", type=click.Path(dir_okay=False), help="Also write the manifest here.")
def twin_register(paths, as_, password_file, name, agency, notes, metadata_uri, manifest_out):
    """Hash the capture assets, anchor their Merkle root and write the twin manifest.

    \b
    Example:
        consentry twin register captures/*.jpg --as ana --name "Ana M." --manifest ana-twin.json
    """
    fps = _fingerprints(list(paths), "hashing assets")
    account_ = signer(as_, password_file)
    r = registry_().register_twin(
        account_,
        list(paths),
        fps,
        name=name,
        agency=agency,
        notes=notes,
        metadata_uri=metadata_uri,
        manifest_out=Path(manifest_out) if manifest_out else None,
    )
    emit(
        {
            "twin_id": r.twin_id,
            "asset_root": "0x" + r.asset_root.hex(),
            "tx": r.tx,
            "gas_used": r.gas_used,
            "assets": len(fps) - r.duplicates,
            "manifest": str(r.manifest_path),
        },
        [
            f"twin {r.twin_id} registered with {len(fps) - r.duplicates} assets"
            + (f" ({r.duplicates} duplicate files skipped)" if r.duplicates else ""),
            f"asset root 0x{r.asset_root.hex()}",
            f"tx {r.tx} (gas {r.gas_used:,})",
            f"manifest {r.manifest_path}",
        ],
    )


def _at(value: str | None, ch) -> int:
    return 0 if value in (None, "now") else vocab.parse_time(value, now=ch.now())


@twin.command("withdraw")
@click.argument("twin_id", type=params.ID)
@signer_options
@click.option("--at", "at", help="When it takes effect: now (default), a date or a notice period like 30d.")
def twin_withdraw(twin_id, as_, password_file, at):
    """Withdraw a twin: no new licenses or publications from then on (forward-only).

    \b
    Example:
        consentry twin withdraw 1 --as ana --at 30d
    """
    account_ = signer(as_, password_file)
    reg = registry_()
    tx = reg.withdraw_twin(account_, twin_id, _at(at, reg.chain))
    t = reg.twin(twin_id)
    emit(
        {"twin_id": twin_id, "withdraw_at": t["withdraw_at"], **tx.to_dict()},
        f"twin {twin_id} withdrawn from {vocab.format_time(t['withdraw_at'])} (tx {tx.tx})",
    )


@twin.command("attest")
@click.argument("twin_id", type=params.ID)
@signer_options
@click.option("--statement", help="What you vouch for, in words (its keccak256 goes on chain).")
@click.option("--revoke", is_flag=True, help="Withdraw your attestation of this twin instead.")
def twin_attest(twin_id, as_, password_file, statement, revoke):
    """Vouch (as an agency, union or capture studio) that a twin's owner is the person it depicts.

    Verifiers that trust you (`consentry trust add YOU --role attester`) then trust the twin.

    \b
    Example:
        consentry twin attest 1 --as agency --statement "Ana Silva, met in person, ID checked 2026-11-02"
        consentry twin attest 1 --as agency --revoke
    """
    account_ = signer(as_, password_file)
    reg = registry_()
    t = reg.twin(twin_id)
    if revoke:
        tx = reg.revoke_attestation(account_, twin_id)
        emit(
            {"twin_id": twin_id, "attester": account_.address, "attested": False, **tx.to_dict()},
            f"{_named(account_.address)} no longer attests twin {twin_id} (tx {tx.tx})",
        )
        return
    tx = reg.attest(account_, twin_id, statement)
    emit(
        {"twin_id": twin_id, "attester": account_.address, "owner": t["owner"], "attested": True, **tx.to_dict()},
        f"{_named(account_.address)} attests that twin {twin_id}'s owner {_named(t['owner'])} is the person it depicts "
        f"(tx {tx.tx})",
    )


# ---------------------------------------------------------------- trust


@cli.group("trust")
def trust_group():
    """Whom this verifier believes: models, and attesters whose attestations vouch for twins."""


@trust_group.command("add")
@click.argument("address")
@click.option("--name", required=True, help="A name to show beside the address.")
@click.option(
    "--role",
    type=click.Choice(["model", "attester"]),
    default="model",
    show_default=True,
    help="model: trust this address's own twins; attester: trust twins it attests.",
)
def trust_add(address, name, role):
    """Trust a model (her twins) or an attester (the twins it attests).

    \b
    Example:
        consentry trust add 0xeA9B131Ef32b682516276c31E0E44a79F6daB178 --name "Ana Silva"
        consentry trust add agency --name "Agence Lumière" --role attester
    """
    from . import trust

    e = trust.add(address_of(address), name, role)
    emit({"address": e.address, "name": e.name, "role": e.role}, f"trusted {e.role} {e.address} ({safe(e.name)})")


@trust_group.command("list")
def trust_list():
    """The models and attesters this verifier trusts.

    \b
    Example:
        consentry trust list --json
    """
    from . import trust

    entries = trust.load()
    emit(
        {"entries": [{"address": e.address, "name": e.name, "role": e.role, "added_at": e.added_at} for e in entries]},
        [f"{e.role:9} {e.address}  {safe(e.name)}" for e in entries]
        or ["nobody is trusted yet: `consentry trust add ADDRESS --name NAME`"],
    )


@trust_group.command("remove")
@click.argument("who")
def trust_remove(who):
    """Stop trusting an address (give its name or address).

    \b
    Example:
        consentry trust remove "Agence Lumière"
    """
    from . import trust

    gone = trust.remove(who)
    emit(
        {"removed": [{"address": e.address, "name": e.name, "role": e.role} for e in gone]},
        [f"no longer trusted: {e.role} {e.address} ({safe(e.name)})" for e in gone],
    )


# ---------------------------------------------------------------- agents


@cli.group()
def agent():
    """Mandates that let an agency grant licenses within caps."""


@agent.command("appoint")
@click.argument("twin_id", type=params.ID)
@click.argument("address")
@signer_options
@click.option("--until", "until", help="Mandate end (date); default 365 days.")
@click.option("--for", "for_", type=params.DURATION, help="Mandate length, e.g. 180d.")
@click.option(
    "--channels",
    type=params.CHANNELS,
    default=",".join(vocab.CHANNELS),
    show_default=True,
    help="Channels the agent may grant.",
)
@click.option("--transforms", type=params.TRANSFORMS, default="", help="Transformations the agent may allow (comma-separated).")
@click.option(
    "--max-duration", type=params.DURATION, default="365d", show_default=True, help="Longest license the agent may grant."
)
@click.option("--min-fee", type=params.AMOUNT, default="0", show_default=True, help="Lowest fee per use the agent may set.")
@click.option(
    "--territories",
    type=params.TERRITORIES,
    default="WW",
    show_default=True,
    help="Territories the agent may grant (ISO codes, EU, WW; at most 5).",
)
@click.option(
    "--max-uses",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Most uses a license by the agent may allow (0 = no cap).",
)
@click.option("--currency", metavar="ADDRESS", help="The ERC-20 token the agent's licenses are paid in (default: native coin).")
@click.option(
    "--training",
    type=click.Choice(termsdoc.TRAINING),
    default="not-allowed",
    show_default=True,
    help="Whether the agent may grant licenses that allow AI training.",
)
def agent_appoint(
    twin_id,
    address,
    as_,
    password_file,
    until,
    for_,
    channels,
    transforms,
    max_duration,
    min_fee,
    territories,
    max_uses,
    currency,
    training,
):
    """Let an agency grant and revoke licenses for a twin, within caps.

    \b
    Example:
        consentry agent appoint 1 agency --as ana --for 180d --channels social,ecommerce --min-fee 0.001ether
    """
    from . import currency as currencies
    from . import licenses

    who = address_of(address)
    if vocab.transform_mask(transforms) & licenses.ALTERATIONS:
        click.echo(
            "note: age, body and face are never within a mandate alone: each grant of them needs your own consent "
            "(`consentry license consent`)",
            err=True,
        )
    account_ = signer(as_, password_file)
    reg = registry_()
    fee, cur = currencies.parse_fee(reg.chain, min_fee, currency, flag="--min-fee")
    now = reg.now()
    expiry = vocab.parse_time(until, now=now) if until else now + (for_ or 365 * 86400)
    tx = reg.appoint_agent(
        account_,
        twin_id,
        who,
        expiry=expiry,
        max_duration=max_duration,
        channels=channels,
        transforms=transforms,
        min_fee=fee,
        territories=territories,
        max_uses=max_uses,
        currency=cur.address,
        training=training == "allowed",
    )
    emit(
        {"twin_id": twin_id, "agent": who, "expiry": expiry, **tx.to_dict()},
        f"{_named(who)} may license twin {twin_id} until {vocab.format_time(expiry)} (tx {tx.tx})",
    )


@agent.command("revoke")
@click.argument("twin_id", type=params.ID)
@click.argument("address")
@signer_options
def agent_revoke(twin_id, address, as_, password_file):
    """End an agent's mandate for a twin.

    \b
    Example:
        consentry agent revoke 1 agency --as ana
    """
    who = address_of(address)
    account_ = signer(as_, password_file)
    tx = registry_().revoke_agent(account_, twin_id, who)
    emit({"twin_id": twin_id, "agent": who, **tx.to_dict()}, f"mandate of {_named(who)} for twin {twin_id} ended")


# ---------------------------------------------------------------- licenses


@cli.group()
def license():
    """Grant, offer, accept, revoke and show licenses."""


def terms_options(fn):
    for opt in reversed(
        [
            click.option("--to", "to", metavar="ADDRESS|NAME", help="The licensee (brand). Required."),
            click.option(
                "--purpose",
                metavar="TEXT",
                help="The intended uses in words (required; digital-replica laws ask for a specific description).",
            ),
            click.option("--channels", type=params.CHANNELS, help=f"Comma-separated: {' '.join(vocab.CHANNELS)}. Required."),
            click.option(
                "--territories", type=params.TERRITORIES, default="WW", show_default=True, help="ISO codes, EU or WW (at most 5)."
            ),
            click.option(
                "--transforms",
                type=params.TRANSFORMS,
                default="",
                help=f"Allowed AI transformations: {' '.join(vocab.TRANSFORMS)}.",
            ),
            click.option("--from", "from_", help="Start (ISO date; default now)."),
            click.option("--until", help="End (ISO date)."),
            click.option("--for", "for_", type=params.DURATION, help="Length, e.g. 90d (default 365d; at most ten years)."),
            click.option("--max-uses", type=int, default=0, show_default=True, help="0 = unlimited."),
            click.option(
                "--fee",
                type=params.AMOUNT,
                default="0",
                show_default=True,
                help="Fee per use: 0.01ether, 10gwei, wei, or a token the network knows: 2.5USDC.",
            ),
            click.option(
                "--currency", metavar="ADDRESS", help="The ERC-20 token of the fee (then --fee is an amount, e.g. 2.5)."
            ),
            click.option(
                "--training",
                type=click.Choice(termsdoc.TRAINING),
                default="not-allowed",
                show_default=True,
                help="Whether the images may be used to train AI models.",
            ),
            click.option(
                "--after-end",
                type=click.Choice(termsdoc.AFTER_END),
                default="remain",
                show_default=True,
                help="When the license ends: published images may remain, or must be removed.",
            ),
            click.option(
                "--terms",
                "terms_file",
                type=click.Path(dir_okay=False),
                help="Additional terms in words (a text file), kept in the terms document the chain's hash commits to.",
            ),
        ]
    ):
        fn = opt(fn)
    return fn


def _terms(
    ch,
    twin_id,
    to,
    purpose,
    channels,
    territories,
    transforms,
    from_,
    until,
    for_,
    max_uses,
    fee,
    currency,
    training,
    after_end,
    terms_file,
):
    from . import currency as currencies
    from . import licenses

    if until and for_:
        raise UsageError("give --until or --for, not both")
    text = None
    if terms_file:
        from .files import read_bounded

        try:
            text = read_bounded(terms_file, "terms document", termsdoc.MAX_ADDITIONAL).decode().removeprefix("\ufeff")
        except UnicodeDecodeError:
            raise UsageError(f"the terms document {terms_file} is not UTF-8 text") from None
        termsdoc.check_additional(text, terms_file)
    units, cur = currencies.parse_fee(ch, fee, currency)
    _warn_unlisted(cur)
    now = ch.now()
    start = vocab.parse_time(from_, now=now) if from_ else now
    end = vocab.parse_time(until, now=now) if until else start + (for_ or 365 * 86400)
    if end <= now:
        raise UsageError(f"the license would end in the past ({vocab.format_time(end)})")
    return licenses.build_terms(
        licenses.TermsInput(
            twin_id=twin_id,
            licensee=address_of(to),
            channels=channels,
            territories=territories,
            transforms=transforms,
            valid_from=start,
            valid_until=end,
            max_uses=max_uses,
            fee_units=units,
            currency=cur,
            purpose=purpose,
            training=training == "allowed",
            remove_after_end=after_end == "remove",
            additional_terms=text,
        )
    ), cur


def _warn_unlisted(cur) -> None:
    """A fee token this network profile does not list: its symbol is whatever its author chose."""
    if not cur.native and not cur.known:
        click.echo(
            f"warning: fee token {cur.address} calls itself {safe(cur.symbol)} but is not one this network profile "
            "lists: check the address (`consentry network add NAME --token SYMBOL=ADDRESS` to list it)",
            err=True,
        )


def _validate_terms_offline(t: dict):
    """What needs no chain, before a password is asked: required options, names, codes, amounts."""
    for flag, key in (("--to", "to"), ("--channels", "channels")):
        if not t.get(key):
            raise UsageError(f"{flag} is required")
    termsdoc.check_purpose(t.get("purpose"))
    if t["max_uses"] < 0:
        raise UsageError("--max-uses cannot be negative")


@license.command("grant")
@click.argument("twin_id", type=params.ID)
@terms_options
@signer_options
@click.option(
    "--consent",
    "consent_file",
    type=click.Path(dir_okay=False),
    help="As an agent: grant the terms of the model's signed consent to alterations (age, body, face).",
)
def license_grant(twin_id, as_, password_file, consent_file, **t):
    """Grant a license as the model, or as an agent within its mandate (alterations need the model's
    own consent: `license consent`, then `--consent FILE`).

    \b
    Example:
        consentry license grant 1 --to brand --channels social,ecommerce --territories EU,US \\
            --transforms outfit,background --for 90d --max-uses 100 --fee 0.001ether --as ana \\
            --purpose "Spring 2027 e-commerce product pages for the Lumiere dress line"
    """
    from . import licenses, offers

    if consent_file:
        from click.core import ParameterSource

        ctx = click.get_current_context()
        given = [k for k in t if ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE]
        if given:
            flag = "--" + given[0].rstrip("_").replace("_", "-").replace("terms-file", "terms")
            raise UsageError(f"{flag}: with --consent the terms are the ones the model signed, in the consent file")
        c = offers.load_consent(consent_file)
        if c["terms"]["twinId"] != twin_id:
            raise UsageError(f"the consent is for twin {c['terms']['twinId']}, not {twin_id}")
        licenses.check_document(c)
        account_ = signer(as_, password_file)
        g = registry_().grant_with_consent(account_, c)
    else:
        _validate_terms_offline(t)
        account_ = signer(as_, password_file)
        reg = registry_()
        (terms, doc), _ = _terms(reg.chain, twin_id, **t)
        g = reg.grant(account_, terms, doc)
    emit(
        {"license_id": g.license_id, "terms_hash": g.terms_hash, "terms_document": g.document, **g.tx.to_dict()},
        [
            f"license {g.license_id} granted to {_named(g.terms['licensee'])} (tx {g.tx.tx}, gas {g.tx.gas_used:,})",
            *["  " + line for line in termsdoc.words(g.document)],
        ],
    )


class _DefaultCommandGroup(click.Group):
    """A group whose first argument, when not one of its commands, goes to its default command:
    `license offer 1 --to brand ...` signs an offer, `license offer cancel FILE` cancels one."""

    default_command = "create"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@license.group("offer", cls=_DefaultCommandGroup)
def license_offer():
    """Sign a license offer (`license offer TWIN --to BRAND --purpose TEXT [terms] --as MODEL --out FILE`,
    the same as `license offer create ...`), or cancel one (`license offer cancel FILE --as MODEL`)."""


@license_offer.command("create")
@click.argument("twin_id", type=params.ID)
@terms_options
@signer_options
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Offer file to write.")
@click.option("--valid-for", type=params.DURATION, default="7d", show_default=True, help="How long the brand has to accept.")
def license_offer_create(twin_id, as_, password_file, out, valid_for, **t):
    """Sign a license offer (EIP-712, no gas); the brand submits it with `license accept`.

    \b
    Example:
        consentry license offer 1 --to brand --channels social --for 30d --fee 2.5USDC --as ana --out offer.json \\
            --purpose "Instagram posts for the autumn 2027 knitwear launch"
    """
    from . import twins
    from .files import write_json_atomic

    _validate_terms_offline(t)
    out_path = _writable(out)
    account_ = signer(as_, password_file)
    reg = registry_()
    twins.require_exists(reg.chain, twin_id)
    (terms, doc), _ = _terms(reg.chain, twin_id, **t)
    deadline = reg.now() + valid_for
    offer = reg.offer(account_, terms, doc, deadline)
    write_json_atomic(out_path, offer)
    emit(
        {"offer": str(out_path), "nonce": offer["nonce"], "deadline": deadline, "signer": offer["signer"]},
        f"offer for twin {twin_id} to {_named(terms['licensee'])} written to {out_path} "
        f"(accept before {vocab.format_time(deadline)})",
    )


@license_offer.command("cancel")
@click.argument("offer", metavar="FILE|NONCE")
@signer_options
def license_offer_cancel(offer, as_, password_file):
    """Cancel an unused offer you signed (its nonce is marked used on chain; accepting it then fails).

    \b
    Example:
        consentry license offer cancel offer.json --as ana
    """
    from . import offers

    signed_by = None
    if re.fullmatch(r"[0-9]{1,78}", offer):
        nonce = int(offer)
        if nonce >= 2**256:
            raise UsageError("a nonce is below 2^256")
    else:
        loaded = offers.load(offer)
        nonce, signed_by = loaded["nonce"], offers.recover(loaded)
    account_ = signer(as_, password_file)
    if signed_by is not None and signed_by.lower() != account_.address.lower():
        raise UsageError(
            f"only {_named(signed_by)}, who signed this offer, can cancel it: {_named(account_.address)} would only "
            "burn a nonce of its own"
        )
    tx = registry_().cancel_offer(account_, nonce)
    emit({"nonce": str(nonce), "cancelled": True, **tx.to_dict()}, f"offer cancelled (nonce {nonce}, tx {tx.tx})")


def _writable(out: str) -> Path:
    out_path = Path(out)
    if not (out_path.parent if str(out_path.parent) else Path(".")).is_dir():
        raise UsageError(f"cannot write {out}: its folder does not exist")
    if out_path.exists():
        raise UsageError(f"{out} exists already: choose another --out (a signed file is never overwritten)")
    return out_path


@license.command("consent")
@click.argument("twin_id", type=params.ID)
@terms_options
@signer_options
@click.option("--agent", "agent_", required=True, metavar="ADDRESS|NAME", help="The agent that will grant these terms.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Consent file to write.")
@click.option("--valid-for", type=params.DURATION, default="7d", show_default=True, help="How long the agent has to grant it.")
def license_consent(twin_id, as_, password_file, agent_, out, valid_for, **t):
    """As the model: sign your own consent to the alterations (age, body, face) in these terms, for your
    agent to grant (an agency's mandate alone never covers them). No gas.

    \b
    Example:
        consentry license consent 1 --agent agency --to brand --channels social --transforms face,outfit \\
            --for 30d --purpose "Face-swap campaign visuals for the 2027 fragrance launch" --as ana --out consent.json
    """
    from . import licenses
    from .files import write_json_atomic

    _validate_terms_offline(t)
    if not vocab.transform_mask(t["transforms"]) & licenses.ALTERATIONS:
        raise UsageError("--transforms has no alteration (age, body, face): the agent's mandate covers these terms")
    out_path = _writable(out)
    agent_address = address_of(agent_)
    account_ = signer(as_, password_file)
    reg = registry_()
    (terms, doc), _ = _terms(reg.chain, twin_id, **t)
    deadline = reg.now() + valid_for
    c = reg.consent(account_, terms, doc, agent_address, deadline)
    write_json_atomic(out_path, c)
    alterations = vocab.transform_names(terms["transforms"] & licenses.ALTERATIONS)
    emit(
        {"consent": str(out_path), "alterations": alterations, "agent": agent_address, "deadline": deadline},
        f"consent to {', '.join(alterations)} for {_named(agent_address)} to grant to {_named(terms['licensee'])} "
        f"written to {out_path} (grant before {vocab.format_time(deadline)})",
    )


@license.command("accept")
@click.argument("file", type=click.Path())
@signer_options
@click.option("--yes", is_flag=True, help="Accept without asking (the terms and fee are still printed).")
def license_accept(file, as_, password_file, yes):
    """Submit a model's signed offer and receive the license. The offer's terms document must be what the
    model signed (its hash) and say what the signed terms say; it is shown first, and asked about on a terminal.

    \b
    Example:
        consentry license accept offer.json --as brand
    """
    from . import licenses, offers

    offer = offers.load(file)
    doc = licenses.check_document(offer)
    t = offer["terms"]
    summary = f"offer signed by {_named(offers.recover(offer))} for twin {t['twinId']} to {_named(t['licensee'])}"
    words = termsdoc.words(doc)
    ch = None
    if int(t["currency"], 16):
        ch = connect()
        _warn_unlisted(licenses.check_fee_token(ch, offer))
    if not yes and sys.stdin.isatty() and not _root().get("json_output"):  # a person at a terminal: ask
        click.echo(safe(summary), err=True)
        for line in words:
            click.echo("  " + line, err=True)
        click.confirm("accept these terms?", abort=True, err=True)
    account_ = signer(as_, password_file)
    from .registry import Registry

    g = (Registry(ch) if ch else registry_()).accept(account_, offer)
    emit(
        {
            "license_id": g.license_id,
            "accepted": summary,
            "terms_document": doc,
            "fee_per_use": str(t["feePerUse"]),
            "fee_per_use_wei": t["feePerUse"] if not int(t["currency"], 16) else None,
            **g.tx.to_dict(),
        },
        [
            summary,
            *["  " + w for w in words],
            f"license {g.license_id} granted from the offer (tx {g.tx.tx}, gas {g.tx.gas_used:,})",
        ],
    )


@license.command("suspend")
@click.argument("license_id", type=params.ID)
@signer_options
def license_suspend(license_id, as_, password_file):
    """As the model: suspend a license (a strike, a dispute). Publications are refused until you resume it;
    earlier ones stay authorised. Unlike revocation it can be undone.

    \b
    Example:
        consentry license suspend 3 --as ana
    """

    account_ = signer(as_, password_file)
    tx = registry_().suspend(account_, license_id)
    emit({"license_id": license_id, "suspended": True, **tx.to_dict()}, f"license {license_id} suspended (tx {tx.tx})")


@license.command("resume")
@click.argument("license_id", type=params.ID)
@signer_options
def license_resume(license_id, as_, password_file):
    """As the model: resume a suspended license.

    \b
    Example:
        consentry license resume 3 --as ana
    """

    account_ = signer(as_, password_file)
    tx = registry_().resume(account_, license_id)
    emit({"license_id": license_id, "suspended": False, **tx.to_dict()}, f"license {license_id} resumed (tx {tx.tx})")


@license.command("revoke")
@click.argument("license_id", type=params.ID)
@signer_options
@click.option("--at", "at", help="When it takes effect: now (default), a date, or a notice period like 14d.")
def license_revoke(license_id, as_, password_file, at):
    """Revoke a license (forward-only: earlier publications stay authorised when published).

    \b
    Example:
        consentry license revoke 3 --as ana --at 14d
    """
    from . import licenses

    account_ = signer(as_, password_file)
    reg = registry_()
    tx = reg.revoke(account_, license_id, _at(at, reg.chain))
    ends = licenses.get(reg.chain, license_id)["valid_until"]
    emit(
        {"license_id": license_id, "effective_at": ends, **tx.to_dict()},
        f"license {license_id} revoked, effective {vocab.format_time(ends)}",
    )


def license_words(s: dict) -> list[str]:
    uses = f"{s['uses']} of {s['max_uses']}" if s["max_uses"] else f"{s['uses']} (unlimited)"
    return [
        f"license {s['license_id']}: {s['status']}",
        f"  twin          {s['twin_id']} (model {_named(s['model'])})",
        f"  licensee      {_named(s['licensee'])}",
        *(
            [f"  granted by    agent {_named(s['grantor'])}"]
            if s.get("grantor") and s["grantor"].lower() != s["model"].lower()
            else []
        ),
        f"  channels      {', '.join(s['channels'])}",
        f"  territories   {', '.join(s['territories'])}",
        f"  AI changes    {', '.join(s['transforms']) or 'none allowed'}",
        f"  valid         {vocab.format_time(s['valid_from'])} → {vocab.format_time(s['valid_until'])}",
        f"  uses          {uses}",
        f"  fee per use   {s['fee_shown']}"
        + ("" if s["currency"]["currency"] == "native" else f" (token {s['currency']['currency']})"),
        f"  AI training   {s['training']}",
        f"  after the end published images {'may remain' if s['after_end'] == 'remain' else 'must be removed'}",
        f"  terms hash    {s['terms_hash']}",
    ] + (
        [f"  purpose       {safe(s['purpose'])}"]
        if s.get("purpose")
        else ["  purpose       (the terms document is not kept on this machine; ask the model or brand for it)"]
    )


@license.command("show")
@click.argument("license_id", type=params.ID)
def license_show(license_id):
    """Show a license's terms in words, its use count and whether it is valid now.

    \b
    Example:
        consentry license show 3
    """
    s = registry_().license(license_id)
    emit(s, license_words(s))


# ---------------------------------------------------------------- brand


def use_options(fn):
    for opt in reversed(
        [
            click.option("--license", "license_id", type=params.ID, required=True, help="License id."),
            click.option("--channel", type=params.CHANNEL, required=True, help=f"One of: {' '.join(vocab.CHANNELS)}."),
            click.option(
                "--territory", type=params.TERRITORY, required=True, help="Country (ISO code), or EU or WW, of publication."
            ),
            click.option(
                "--transform", "transforms", type=params.TRANSFORM, multiple=True, help="Applied AI transformation (repeatable)."
            ),
        ]
    ):
        fn = opt(fn)
    return fn


@cli.command("check")
@click.argument("image", type=click.Path())
@use_options
@click.option("--as", "as_", metavar="NAME|ADDRESS", help="The brand that would publish (default: the licensee).")
def check_cmd(image, license_id, channel, territory, transforms, as_):
    """Would publishing IMAGE now be accepted? Reads the chain, sends nothing. Exit 3 if not.

    \b
    Example:
        consentry check look-01.jpg --license 3 --channel social --territory FR --transform outfit
    """
    from . import hashing, licenses

    fp = hashing.fingerprint(image)
    ch = connect()
    who = address_of(as_) if as_ else licenses.get(ch, license_id)["licensee"]
    ok, reasons = licenses.check(ch, license_id, who, channel, territory, list(transforms))
    emit(
        {"authorised": ok, "reasons": reasons, "license_id": license_id, "content_hash": "0x" + fp.content_hash.hex()},
        [f"{image}: would be accepted under license {license_id}"]
        if ok
        else [f"{image}: NOT authorised"] + [f"  - {r['message']}" for r in reasons],
    )
    return EXIT_OK if ok else EXIT_NOT_AUTHORISED


@cli.command("publish")
@click.argument("images", nargs=-1, required=True, type=click.Path())
@use_options
@signer_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write a disclosed copy of each image here (AI disclosure in XMP/IPTC, a pointer to this record, "
    "and a C2PA manifest with --c2pa-cert) and record that copy: the file people will see.",
)
@click.option(
    "--source-type",
    type=click.Choice(["trained", "composite"]),
    default="trained",
    show_default=True,
    help="IPTC digital source type: trainedAlgorithmicMedia, or compositeWithTrainedAlgorithmicMedia.",
)
@click.option("--label", is_flag=True, help="Also draw a visible 'AI-generated' badge in a corner (with --out).")
@click.option(
    "--c2pa-cert",
    type=click.Path(dir_okay=False),
    metavar="CHAIN.pem",
    help="Sign a C2PA manifest with this certificate chain (leaf first; with --c2pa-key and --out).",
)
@click.option("--c2pa-key", type=click.Path(dir_okay=False), metavar="KEY.pem", help="The C2PA signing key (PKCS#8 PEM).")
@click.option("--verifier-url", metavar="URL", help="A page where people check the image (xmpRights:WebStatement).")
@click.option(
    "--no-embed",
    is_flag=True,
    help="Record the files as they are (a pipeline already disclosed them): what they carry is read and "
    "recorded. The default without --out.",
)
def publish_cmd(
    images,
    license_id,
    channel,
    territory,
    transforms,
    as_,
    password_file,
    out_dir,
    source_type,
    label,
    c2pa_cert,
    c2pa_key,
    verifier_url,
    no_embed,
):
    """Record published images under a license in one transaction and pay the fees. With --out, the images
    published are disclosed copies: AI-generated per IPTC, pointing back to this record, C2PA-signed with
    --c2pa-cert/--c2pa-key; the registry records which disclosures they carried.

    \b
    Example:
        consentry publish look-01.jpg --license 3 --channel social --territory FR --transform outfit \\
            --as brand --out published/ --c2pa-cert chain.pem --c2pa-key key.pem
    """
    from . import disclosure, publications

    if (c2pa_cert is None) != (c2pa_key is None):
        raise UsageError("--c2pa-cert and --c2pa-key go together (the certificate chain and its private key)")
    embeds = [
        n
        for n, v in (
            ("--label", label),
            ("--c2pa-cert", c2pa_cert),
            ("--verifier-url", verifier_url),
            ("--source-type", source_type != "trained"),
        )
        if v
    ]
    if out_dir is None and embeds:
        raise UsageError(f"{embeds[0]} is written into disclosed copies: add --out DIR")
    if out_dir is not None and no_embed:
        raise UsageError("--out writes disclosed copies and --no-embed records files as they are: choose one")
    options = None
    if out_dir is not None:
        kind = {"trained": "trainedAlgorithmicMedia", "composite": "compositeWithTrainedAlgorithmicMedia"}
        options = publications.DisclosureOptions(
            Path(out_dir),
            kind[source_type],
            label,
            disclosure.Signer.from_files(c2pa_cert, c2pa_key) if c2pa_cert else None,  # before any gas
            verifier_url,
        )
    publications.check_destinations(list(images), options)
    account_ = signer(as_, password_file)
    p = publications.publish_files(
        connect(),
        account_,
        license_id,
        list(images),
        channel,
        territory,
        list(transforms),
        options,
        fingerprint_all=lambda paths: _fingerprints(paths, "hashing images"),
        warn=lambda w: click.echo(f"warning: {safe(w)}", err=True),
    )
    emit(
        {
            "images": p.rows,
            "fee_paid": str(p.fee_paid),
            "fee_paid_wei": p.fee_paid if p.currency.native else 0,
            **p.currency.to_dict(),
            "tx": p.txs[-1],
            "txs": p.txs,
            "gas_used": p.gas_used,
            "license_id": license_id,
        },
        [
            f"{x['file']}  file {x['content_hash'][:18]}…  pixels {x['pixel_hash'][:18]}…  phash {x['phash']}  "
            f"disclosed: {', '.join(x['disclosures']) or 'nothing'}"
            for x in p.rows
        ]
        + [
            f"{len(p.rows)} image(s) recorded under license {license_id}, fee {p.currency.format(p.fee_paid)}",
            *[f"tx {t}" + (" (the fee's token allowance)" if t in p.approvals else " (the publication)") for t in p.txs],
            f"gas {p.gas_used:,} (the publication{'s' if len(p.txs) - len(p.approvals) > 1 else ''})",
        ]
        + (
            []
            if p.disclosed or any(x["disclosures"] for x in p.rows)
            else ["note: nothing in these files says they are AI-generated; `--out DIR` writes disclosed copies"]
        ),
    )


@cli.group("c2pa")
def c2pa_group():
    """C2PA signing material for `publish --out --c2pa-cert/--c2pa-key`."""


@c2pa_group.command("dev-ca")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--org", default="Consentry dev brand", show_default=True, help="Organisation named in the certificates.")
def c2pa_dev_ca_cmd(directory, org):
    """Make a development CA and a signing certificate issued by it (EC P-256): ca.pem, chain.pem
    (the leaf, then the CA) and key.pem (0600). Manifests signed with them read back as valid but
    untrusted, or trusted where ca.pem is a trust anchor: for tests and demos, not production.

    \b
    Example:
        consentry c2pa dev-ca brand-ca
        consentry publish look.jpg ... --out published/ --c2pa-cert brand-ca/chain.pem --c2pa-key brand-ca/key.pem
    """
    from . import disclosure

    ca = disclosure.make_dev_ca(directory, org=org)
    emit(
        {"ca": str(ca.ca), "chain": str(ca.chain), "key": str(ca.key)},
        [f"CA certificate   {ca.ca}", f"signing chain    {ca.chain}", f"signing key      {ca.key} (0600)"],
    )


@cli.command("earnings")
@signer_options
@click.option("--withdraw", is_flag=True, help="Send the credited fees to the model, each currency in turn.")
@click.option("--currency", "currencies_", multiple=True, metavar="ADDRESS", help="Also a token this network does not list.")
def earnings_cmd(as_, password_file, withdraw, currencies_):
    """Show (and with --withdraw collect) the per-use fees credited to a model, per currency.

    \b
    Example:
        consentry earnings --as ana --withdraw
    """
    for c in currencies_:
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", c):
            raise UsageError(f"--currency {c!r} is not an address")
    reg = registry_()
    who = address_of(as_)
    held = reg.balances(who, currencies_)
    withdrawn, lines = [], []
    if withdraw:
        account_ = signer(as_, password_file)
        for b in held:
            if b.units:
                tx = reg.withdraw(account_, b.currency)
                withdrawn.append({**b.to_dict(), **tx.to_dict()})
                lines.append(f"withdrew {b.currency.format(b.units)} to {_named(who)} (tx {tx.tx})")
        if not withdrawn:
            raise Reverted(f"{who} has no fees to withdraw", "NothingToWithdraw", {})
        held = reg.balances(who, currencies_)
    rows = [b.to_dict() for b in held]
    native = next(int(r["units"]) for r in rows if r["currency"] == "native")
    emit(
        {
            "address": who,
            "balances": rows,
            "balance_wei": native,
            "withdrawn": withdrawn,
            "withdrawn_wei": sum(int(w["units"]) for w in withdrawn if w["currency"] == "native"),
        },
        lines or [f"{_named(who)}: " + ", ".join(b.currency.format(b.units) for b in held) + " to withdraw"],
    )


# ---------------------------------------------------------------- index and verification


def _index_path() -> Path:
    p = click.get_current_context().find_root().params.get("index_path")
    return Path(p) if p else config.default_index_path()


@cli.command("sync")
@click.option(
    "--manifest",
    "manifests",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Import a twin manifest (checked against the root anchored on chain). Repeatable.",
)
@click.option(
    "--confirmations",
    type=click.IntRange(0),
    default=None,
    help="Blocks to wait before indexing [default: the network's profile, else 0 on development chains, 12 elsewhere].",
)
@click.option(
    "--range",
    "range_size",
    type=click.IntRange(1),
    default=None,
    help="Most blocks per eth_getLogs call [default: the network's log_range, else 2000]; shrinks by "
    "itself while the provider refuses ranges.",
)
@click.option(
    "--from-block",
    type=click.IntRange(0),
    help="Where a new index starts reading (the registry's deployment block; the local chain knows its own).",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Re-verify the existing index against the registry's state instead of syncing (exit 1 on mismatch).",
)
@click.option(
    "--terms",
    "terms_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Keep a license's terms document someone gave you (checked against the hash on chain). Repeatable.",
)
def sync_cmd(manifests, confirmations, range_size, from_block, check_only, terms_files):
    """Bring the local index up to date from the registry's events (and twin manifests).

    \b
    Example:
        consentry sync --manifest ana-twin.json
    """
    from . import index
    from .rpc import resolve

    for m in manifests:
        from .twins import load_manifest

        load_manifest(m)
    from .files import read_json

    given = [termsdoc.validate(read_json(f, "terms document"), f) for f in terms_files]
    root = click.get_current_context().find_root().params
    ep = resolve(
        root.get("network") or "local", root.get("registry") or os.environ.get("CONSENTRY_REGISTRY"), root.get("chain_id")
    )
    path = _index_path()
    db = index.open_db(path)
    bar_state = {"bar": None, "done": 0}

    def on_progress(done, total):
        if bar_state["bar"] is None:
            bar_state["bar"] = progress(total, "syncing blocks").__enter__()
        bar_state["bar"].update(done - bar_state["done"])
        bar_state["done"] = done

    start = from_block if from_block is not None else ep.deploy_block
    if confirmations is None:  # reorgs are routine on public chains; dev chains never reorganise by themselves
        confirmations = ep.target.confirmations
    if confirmations is None:
        confirmations = 0 if ep.target.local or ep.chain_id in DEV_CHAIN_IDS else PUBLIC_CONFIRMATIONS
    range_size = range_size or ep.target.log_range or 2000
    syncer = index.Syncer(
        db,
        ep.ep,
        ep.registry,
        ep.chain_id,
        start,
        confirmations=confirmations,
        range_size=range_size,
        progress=on_progress,
        deployed_at_start=from_block is None and start > 0,
    )
    if check_only:
        syncer.check_identity()
        problems = syncer.check()
        synced = index.get_meta(db, "synced_block", -1)
        if problems:
            raise click.ClickException(
                f"the index {path} disagrees with the registry at block {synced}: "
                + "; ".join(safe(p) for p in problems[:5])
                + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
            )
        emit(
            {"index": str(path), "checked_block": synced, "consistent": True},
            f"index {path} matches the registry at block {synced}",
        )
        return
    r = syncer.run([Path(m) for m in manifests])
    if bar_state["bar"] is not None:
        bar_state["bar"].__exit__(None, None, None)
    kept, orphans = index.keep_terms_documents(db, given)
    counts = index.counts(db)
    emit(
        {
            "index": str(path),
            "from_block": r.from_block,
            "to_block": r.to_block,
            "events": r.events,
            "reorg_from_block": r.reorg_from,
            "manifests_imported": r.manifests,
            "assets_imported": r.assets,
            "seconds": round(r.seconds, 3),
            "counts": counts,
            "problems": [safe(p) for p in r.problems],
            "terms_documents_kept": kept,
        },
        ([f"reorganisation detected: re-indexed from block {r.reorg_from}"] if r.reorg_from is not None else [])
        + [
            f"synced blocks {r.from_block}..{r.to_block}: {r.events} events"
            + (f", {r.manifests} manifest(s) with {r.assets} assets" if r.manifests else ""),
            f"index {path}: {counts['twins']} twins, {counts['licenses']} licenses, "
            f"{counts['publications']} publications, {counts['twin_assets']} twin assets, "
            f"{counts['terms_documents']} terms documents",
        ]
        + [f"warning: skipped a log that does not fit the registry's ABI: {safe(p)}" for p in r.problems]
        + [
            f"warning: no license in the index commits to the terms document for twin {d['twin_id']} "
            f"({safe(d['purpose'][:60])}): not kept"
            for d in orphans
        ],
    )


def _shown_path(path: str) -> str:
    """A path as printed: made printable, and quoted when it could pass for more than a path."""
    import re

    shown = safe(path)
    return repr(shown) if re.search(r"\s{2,}|: |^\s|\s$", shown) else shown


def _named(address, name=None) -> str:
    """`0x49f0… (maison)`: an address beside the name this user has for it (given, or a keystore or
    trust-list name), or the address alone."""
    name = name or _known_names().get(str(address).lower())
    return f"{address} ({safe(name)})" if name else str(address)


_NAMES: dict[str, str] | None = None
_ADDRESS_IN_TEXT = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])(?! \()")


def _name_addresses(message: str) -> str:
    """An error's addresses with the names this user has for them: `0x49f0… (maison) is not the licensee`."""
    try:
        known = _known_names()
    except Exception:  # an unreadable keystore folder must not hide the error being reported
        return message
    return _ADDRESS_IN_TEXT.sub(lambda m: _named(m.group(0)) if m.group(0).lower() in known else m.group(0), message)


def _known_names() -> dict[str, str]:
    """lower-case address -> the user's name for it: keystore accounts first, then the trust list."""
    global _NAMES
    if _NAMES is None:
        from . import keys, trust

        names: dict[str, str] = {}
        try:
            for t in trust.load():
                names.setdefault(t.address.lower(), t.name)
        except ConsentryError:
            pass
        for a in keys.list_accounts():
            names[a.address.lower()] = a.name
        _NAMES = names
    return _NAMES


def _verdict_lines(r: dict) -> list[str]:
    """A verdict in words. Everything that came from the chain or a file goes through `safe`."""
    ss = r.get("second_stage") or {}
    if r["match"] == "perceptual" and r["verdict"] != "derivative":
        how = f"perceptual, {r['distance']} bits apart, confirmed by the second stage: {ss.get('summary', '')}"
    elif r["match"] == "perceptual":
        how = f"resembles a record, {r['distance']} bits apart, but the second stage found differences"
    else:
        how = {"exact-file": "exact file", "same-pixels": "same pixels"}.get(r["match"], "")
    lines = [f"{_shown_path(r['path'])}: {r['verdict'].upper()}" + (f" ({safe(how)})" if how else "")]
    if r.get("twin_id") is not None:
        trusted = "trusted" if r.get("trusted") else "NOT trusted"
        lines.append(
            f"  twin {r['twin_id']} of model {_named(r['model'], r.get('model_name'))} — {trusted}: {safe(r.get('trust', ''))}"
        )
    if r.get("license_id") is not None and r.get("license"):
        lic = r["license"]
        lines.append(
            f"  license {r['license_id']} to brand {_named(r['brand'], r.get('brand_name'))}: "
            f"{', '.join(lic['channels'])} in {', '.join(lic['territories'])}; AI changes: "
            f"{', '.join(lic['transforms']) or 'none'}; {lic['valid_from']} → {lic['valid_until']}"
        )
        if lic.get("purpose"):
            lines.append(f"  purpose: {safe(lic['purpose'])}")
        if lic.get("training"):
            lines.append(f"  AI training: {lic['training']}")
        if r.get("grantor") and r["grantor"].lower() != str(r.get("model", "")).lower():
            lines.append(f"  granted by agent {_named(r['grantor'])} on the model's behalf")
    if r.get("after_end"):
        lines.append(
            "  the license has ended: "
            + (
                "this image may remain published"
                if r["after_end"] == "may-remain"
                else "this image must be REMOVED (the license says so)"
            )
        )
    if r.get("published"):
        pub = r["published"]
        lines.append(
            f"  recorded {r['recorded_at']} as use {pub['use']} ({pub['channel']}, {pub['territory']}"
            f"{', ' + ', '.join(pub['transforms']) if pub['transforms'] else ''}) in tx {r['tx']}"
        )
    elif r["verdict"] == "derivative":
        lines.append(f"  the resembling record was made {r['recorded_at']} in tx {r['tx']}")
    elif r.get("asset") is not None:
        lines.append(f"  capture asset '{safe(r['asset'])}' of twin {r['twin_id']}, registered {r['recorded_at']}")
    lines += [f"  - {safe(x)}" for x in r["reasons"]]
    lines += _disclosure_lines(r)
    if r.get("explain"):
        lines.append(f"  picture of the differences: {safe(r['explain'])}")
    return lines


def _disclosure_lines(r: dict) -> list[str]:
    """Whether the file says it is AI-generated, and whether its record says it did when published."""
    c2pa = r.get("c2pa")
    in_file = []
    if r.get("disclosed_in_file"):
        in_file.append("disclosed as AI-generated in this file")
    if c2pa:
        signer = c2pa.get("signer_org") or c2pa.get("signer") or "an unnamed signer"
        in_file.append(f"C2PA manifest {c2pa['state']}, signed by {safe(signer)}")
    at_pub = r.get("disclosures_at_publication")
    lines = []
    if in_file:
        lines.append("  " + "; ".join(in_file))
    elif r.get("disclosed_in_file") is False and r.get("disclosed_at_publication"):
        lines.append("  nothing in this file says it is AI-generated (stripped?)")
    if r.get("disclosed_at_publication") is not None:
        lines.append("  published with: " + (", ".join(at_pub) if at_pub else "no disclosure recorded"))
    return lines


def _explain(folder: str, image: str, n: int, ss) -> str:
    """Write the picture of where `image` differs from its record; returns its path."""
    from PIL import Image

    from . import signature

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    dest = out / f"{n + 1:03d}-{Path(image).stem[:60]}-explain.png"
    with Image.open(image) as im:
        im.load()
        signature.explain_png(im, ss, dest)
    return str(dest)


def _live_checker(when: int | None):
    """For --live: license ids -> whether each is in force at `when` (default the chain's now), read from the
    chain: its window, revocation and the twin's withdrawal. A suspension is not an end: publications made
    before it keep their verdict (the registry refused any during it)."""
    from . import licenses, status

    ch = connect()
    at = ch.now() if when is None else when

    def in_force(i):
        lic = licenses.get(ch, i)
        twin = ch.call(ch.registry.functions.getTwin(lic["twin_id"]))
        return status.is_valid(status.LicenseTimes(lic["valid_from"], lic["valid_until"], bool(lic["revoked"]), twin[1]), at)

    def check(ids):
        return {i: in_force(i) for i in set(ids)}

    check.when = at
    return check


@cli.command("verify")
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--live", is_flag=True, help="Re-read each license's status from the chain.")
@click.option("--at", "at", help="Judge as of this date instead of now.")
@click.option("--channel", type=params.CHANNEL, help="The channel the copy was found in (checked against the license).")
@click.option("--territory", type=params.TERRITORY, help="The country the copy was found in.")
@click.option(
    "--transform", "transforms", type=params.TRANSFORM, multiple=True, help="A transformation seen in the copy (repeatable)."
)
@click.option(
    "--threshold",
    type=click.IntRange(0, 11),
    default=8,
    show_default=True,
    help="Largest pHash distance (bits of 64) that makes a perceptual candidate.",
)
@click.option(
    "--explain",
    "explain_dir",
    type=click.Path(file_okay=False),
    help="Write a PNG per perceptual match or derivative showing where it differs from the record.",
)
def verify_cmd(images, live, at, channel, territory, transforms, threshold, explain_dir):
    """Was each image authorised? Looks it up in the index: exact file, same pixels, or a perceptual
    candidate confirmed by the second stage; judges the record's license and whether this verifier
    trusts the twin (`consentry trust add`). Conflicting records are listed.

    Exit 0 when every image is authorised, 3 otherwise.

    \b
    Example:
        consentry verify found-on-social.jpg
    """
    import time

    from . import index
    from .verify import AUTHORISED, UseContext, Verifier

    if channel:
        vocab.channel_index(channel)
    if territory:
        vocab.territory_code(territory)
    vocab.transform_mask(list(transforms))
    when = vocab.parse_time(at, now=int(time.time())) if at else None
    from .hashing import query as hash_query

    with progress(len(images), "hashing") as bar:  # bad files fail before anything else
        queries = []
        for p in images:
            queries.append(hash_query(p))
            bar.update(1)
    path = _index_path()
    db = index.open_readonly(path)
    checker = _live_checker(when) if live else None
    if live:
        when = checker.when

    from . import trust

    ctx = UseContext(channel, territory, tuple(transforms)) if (channel or territory or transforms) else None
    v = Verifier(
        db, path, at=when, threshold=threshold, context=ctx, live=checker, trust=trust.TrustView.from_entries(trust.load())
    )
    results = []
    with progress(len(images), "verifying") as bar:
        for p, q in zip(images, queries):
            r = v.verify(p, q)
            ss = r.pop("_second_stage_obj", None)
            if explain_dir and ss is not None:
                r["explain"] = _explain(explain_dir, p, len(results), ss)
            results.append(r)
            bar.update(1)
    warnings = index.skipped_log_warnings(db)
    emit(
        {"results": results, "at": v.at, "index": str(path), "warnings": warnings},
        [line for r in results for line in _verdict_lines(r)] + [f"warning: {w}" for w in warnings],
    )
    return EXIT_OK if all(r["verdict"] == AUTHORISED for r in results) else EXIT_NOT_AUTHORISED


def main():
    cli(prog_name="consentry")
