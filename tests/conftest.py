"""Shared fixtures of the product's tests: a real anvil with the registry deployed (started and
stopped through the CLI itself), throwaway data folders, real photographs, and a CLI runner."""

import importlib.util
import itertools
import json
import os

import pytest
from click.testing import CliRunner

# tests/contracts/ belong to the Ape environment (scripts/test runs them there).
collect_ignore = [] if importlib.util.find_spec("ape") else ["contracts"]

PASSWORD = "correct horse battery staple"
_names = itertools.count()


STOCK_PURPOSE = "Campaign images of the test suite's brand, for its own channels"


def _needs_purpose(args: list[str]) -> bool:
    if "--purpose" in args or "--consent" in args or "license" not in args:
        return False
    i = args.index("license")
    verb = args[i + 1 : i + 3]
    return bool(verb) and (verb[0] in ("grant", "consent") or (verb[0] == "offer" and verb[1:2] != ["cancel"]))


def one_line(result) -> str:
    """The one `Error: ...` line a failing command prints (never a traceback or an internal error)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "internal error" not in lines[0] and "Traceback" not in result.stderr + result.stdout
    return lines[0]


class Cli:
    """Runs the real command group; `run(...)` asserts the exit code and returns the result."""

    def __init__(self):
        self.runner = CliRunner()

    def run(self, *args, code=0, input=None, env=None, purpose=True):
        """`purpose`: license grant/offer/consent without --purpose get the suite's stock purpose (the option is
        required; tests of its absence pass purpose=False)."""
        from consentry import cli

        args = [str(a) for a in args]
        if purpose and _needs_purpose(args):
            args += ["--purpose", STOCK_PURPOSE]
        result = self.runner.invoke(cli.cli, args, input=input, catch_exceptions=False, env=env)
        assert code is None or result.exit_code == code, (
            f"exit {result.exit_code} != {code} for {args}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return result

    def json(self, *args, code=0, env=None, purpose=True):
        result = self.run("--json", *args, code=code, env=env, purpose=purpose)
        return json.loads(result.stdout)


@pytest.fixture(scope="session")
def session_home(tmp_path_factory):
    return tmp_path_factory.mktemp("consentry-home")


@pytest.fixture(scope="session", autouse=True)
def _session_env(session_home):
    """For session- and module-scoped fixtures; each test gets the same values again below."""
    os.environ.update(CONSENTRY_HOME=str(session_home), CONSENTRY_PASSWORD=PASSWORD, CONSENTRY_LIGHT_KDF="1")


@pytest.fixture(autouse=True)
def _env(monkeypatch, session_home):
    monkeypatch.setenv("CONSENTRY_HOME", str(session_home))
    monkeypatch.setenv("CONSENTRY_PASSWORD", PASSWORD)
    monkeypatch.setenv("CONSENTRY_LIGHT_KDF", "1")
    for var in ("CONSENTRY_NETWORK", "CONSENTRY_REGISTRY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def cli():
    return Cli()


@pytest.fixture(scope="session")
def local_node(session_home):
    """The embedded chain, started with `consentry node start` on a free port for the session."""
    from consentry import node

    os.environ["CONSENTRY_HOME"] = str(session_home)
    c = Cli()
    info = json.loads(c.run("--json", "node", "start", "--port", node.free_port()).stdout)
    # the suite funds a few hundred accounts with 100 ether each: more than anvil's 10,000 for the dev key
    from eth_account import Account

    from consentry import rpc

    rpc.request(info["rpc_url"], "anvil_setBalance", [Account.from_key(node.DEV_KEY).address, hex(10**24)])
    yield info
    os.environ["CONSENTRY_HOME"] = str(session_home)
    c.run("node", "stop")


@pytest.fixture
def new_account(cli, local_node):
    """Create a funded account with a unique name; returns (name, address)."""

    def make(prefix="acct", fund=True):
        name = f"{prefix}{next(_names)}"
        out = cli.json("account", "create", name, *(["--fund"] if fund else []))
        return name, out["address"]

    return make


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    """Real photographs shipped with scikit-image, as 512-px JPEGs."""
    from PIL import Image
    from skimage import data

    d = tmp_path_factory.mktemp("photos")
    out = {}
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry", "horse", "hubble_deep_field"):
        arr = getattr(data, name)()
        im = Image.fromarray(arr).convert("RGB")
        im.thumbnail((512, 512))
        p = d / f"{name}.jpg"
        exif = Image.Exif()
        exif[0x010F] = "Studio camera"  # Make: metadata a copy may lose
        im.save(p, quality=92, exif=exif, comment=b"shot for a test")
        out[name] = p
    return out


@pytest.fixture
def index_path(tmp_path):
    return tmp_path / "index.db"
