"""The embedded local chain: an anvil process whose state persists under the data directory, with
the registry deployed on first start. node.json records port, chain id and registry address."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from . import config
from .errors import ChainError

# anvil's well-known first dev account (mnemonic "test test ... junk"): public, local chain only.
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_CHAIN_IDS = (31337, 1337)  # anvil/hardhat and ganache defaults: no reorgs of their own


def _info_path() -> Path:
    return config.node_dir() / "node.json"


def read_info() -> dict | None:
    p = _info_path()
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def _write_info(info: dict) -> None:
    from .files import write_json_atomic

    write_json_atomic(_info_path(), info)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie or a recycled pid is not our anvil
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        return b"anvil" in cmd
    except OSError:
        return True


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def running() -> dict | None:
    info = read_info()
    if info and _alive(info.get("pid")):
        return info
    return None


def start(port: int = config.DEFAULT_PORT, deploy=None) -> tuple[dict, bool]:
    """Start anvil (if not running) and deploy the registry on first start.

    `deploy(rpc_url, registry, tokens) -> (address, block, tokens)` deploys the registry and the test
    tokens; it is passed in so that this module
    stays free of web3. Returns (info, started_now)."""
    info = running()
    if info:
        return info, False
    config.ensure_home()
    d = config.node_dir()
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    previous = read_info() or {}
    port = previous.get("port", port) if previous.get("registry") and port == config.DEFAULT_PORT else port
    if _port_open(port):
        raise ChainError(f"port {port} is in use: stop what runs there or choose another with --port")
    state = d / "state.json"
    log = open(d / "anvil.log", "ab")
    cmd = [
        config.tool("anvil"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(config.LOCAL_CHAIN_ID),
        "--state",
        str(state),
        "--state-interval",
        "1",
        "--silent",
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 15
    while not _port_open(port):
        if proc.poll() is not None:
            raise ChainError(f"anvil exited at start (code {proc.returncode}); see {d / 'anvil.log'}")
        if time.monotonic() > deadline:
            proc.kill()
            raise ChainError("anvil did not open its port within 15 s")
        time.sleep(0.05)
    info = {
        "rpc_url": f"http://127.0.0.1:{port}",
        "port": port,
        "chain_id": config.LOCAL_CHAIN_ID,
        "pid": proc.pid,
        "registry": previous.get("registry"),
        "deploy_block": previous.get("deploy_block"),
    }
    if deploy is not None:
        address, block, tokens = deploy(info["rpc_url"], info.get("registry"), previous.get("tokens") or {})
        info["registry"], info["deploy_block"], info["tokens"] = address, block, tokens
    _write_info(info)
    return info, True


def stop() -> bool:
    """Stop anvil cleanly (SIGTERM makes it write its state). Returns False if it was not running."""
    info = running()
    if not info:
        return False
    pid = info["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    info["pid"] = None
    _write_info(info)
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EphemeralAnvil:
    """A throwaway anvil on a free port, for tests and benchmarks: `with EphemeralAnvil() as url:`."""

    def __init__(self, *extra_args: str, chain_id: int = config.LOCAL_CHAIN_ID):
        self.chain_id = chain_id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra = list(extra_args)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [
                config.tool("anvil"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--chain-id",
                str(self.chain_id),
                "--silent",
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not _port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise ChainError("anvil did not start")
            time.sleep(0.05)
        return self.url

    def __exit__(self, *exc) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class EphemeralHardhat:
    """A throwaway Hardhat node (a second, independent EVM implementation) on a free port, with its
    own chain id: `with EphemeralHardhat(chain_id=4242) as url:`. Its funded default accounts use the
    same well-known mnemonic as anvil's, so DEV_KEY pays here too. `hardfork` picks its rules."""

    def __init__(self, chain_id: int = 4242, hardfork: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.chain_id, self.hardfork = chain_id, hardfork
        self.proc: subprocess.Popen | None = None
        self._dir: str | None = None

    def __enter__(self) -> str:
        import tempfile

        root = config.project_root()
        hardhat = root / "node_modules" / ".bin" / "hardhat"
        if not hardhat.exists():
            raise ChainError("hardhat is not installed: run scripts/setup (npm install)")
        self._dir = tempfile.mkdtemp(prefix="consentry-hardhat-")
        net = {"chainId": self.chain_id, **({"hardfork": self.hardfork} if self.hardfork else {})}
        cfg = Path(self._dir) / "hardhat.config.js"
        cfg.write_text(f"module.exports = {{ networks: {{ hardhat: {json.dumps(net)} }} }};\n")
        # run from the project (hardhat refuses a non-local installation), config from the temp folder
        self.proc = subprocess.Popen(
            [str(hardhat), "--config", str(cfg), "node", "--hostname", "127.0.0.1", "--port", str(self.port)],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"},
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not _port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise ChainError("the hardhat node did not start")
            time.sleep(0.1)
        return self.url

    def __exit__(self, *exc) -> None:
        import shutil

        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
