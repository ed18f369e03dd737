"""The embedded chain: state survives stop/start and kill -9 (at most a second lost)."""

import json
import os
import signal
import time

import pytest

from consentry import node, rpc


@pytest.fixture
def own_home(tmp_path, monkeypatch, cli):
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "home"))
    port = node.free_port()
    yield port
    cli.run("node", "stop")


def test_start_status_stop(cli, own_home):
    started = cli.json("node", "start", "--port", own_home)
    assert started["started"] and started["chain_id"] == 31337 and started["registry"].startswith("0x")
    again = cli.json("node", "start", "--port", own_home)
    assert not again["started"] and again["registry"] == started["registry"]
    status = cli.json("node", "status")
    assert status["running"] and status["rpc_url"] == f"http://127.0.0.1:{own_home}" and status["block"] >= 1
    assert cli.json("node", "stop")["stopped"]
    assert cli.json("node", "status", code=1)["running"] is False


def test_state_survives_a_clean_restart(cli, own_home, photos):
    first = cli.json("node", "start", "--port", own_home)
    cli.run("account", "create", "m", "--fund")
    twin = cli.json("twin", "register", photos["coffee"], "--as", "m")["twin_id"]
    cli.run("node", "stop")
    second = cli.json("node", "start")
    assert second["registry"] == first["registry"]
    assert cli.json("--json", "twin", "withdraw", twin, "--as", "m")["twin_id"] == twin


def test_state_survives_kill_9(cli, own_home, photos, tmp_path):
    cli.json("node", "start", "--port", own_home)
    cli.run("account", "create", "m", "--fund")
    twin = cli.json("twin", "register", photos["coffee"], "--as", "m")["twin_id"]
    time.sleep(2.2)  # anvil dumps its state every second
    info = json.loads((tmp_path / "home" / "node" / "node.json").read_text())
    os.kill(info["pid"], signal.SIGKILL)
    time.sleep(0.3)
    assert cli.json("node", "status", code=1)["running"] is False
    restarted = cli.json("node", "start")
    assert restarted["started"] and restarted["registry"] == info["registry"]
    block = rpc.block_number(restarted["rpc_url"])
    assert block >= 3
    out = cli.json("twin", "withdraw", twin, "--as", "m")
    assert out["twin_id"] == twin


def test_port_in_use_is_a_clear_error(cli, own_home, local_node):
    r = cli.run("node", "start", "--port", local_node["rpc_url"].rsplit(":", 1)[1], code=1)
    assert "in use" in r.stderr
