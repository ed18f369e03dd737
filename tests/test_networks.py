"""On a real public chain: `deploy`, network profiles, and the whole story on two independent EVM
implementations (anvil, Hardhat) and through a proxy that behaves like a capped, rate-limiting,
flaky provider."""

import json

import pytest

from conftest import _names
from consentry import node, networks
from rpcproxy import RpcProxy


def story(cli, url, tmp_path, photos, monkeypatch, name="pub", counts=None):
    """deploy, register, grant, offer/accept, publish, revoke; a third party syncs and verifies.
    `counts()` (optional) returns the proxy's HTTP requests per method, to check per command."""
    home = tmp_path / f"home-{name}"
    monkeypatch.setenv("CONSENTRY_HOME", str(home))
    per_command = {}

    def run(*args, code=0, env=None):
        before = dict(counts()) if counts else {}
        out = cli.json(*args, code=code, env=env)
        if counts:
            after = counts()
            per_command[" ".join(str(a) for a in args[:4])] = {
                k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)
            }
        return out

    for who in ("deployer", "model", "brand"):
        run("--network", url, "account", "create", who, "--fund")
    d = run("--network", url, "deploy", "--as", "deployer", "--name", name)
    assert d["registry"].startswith("0x") and d["block"] > 0 and d["tx"].startswith("0x")
    prof = networks.get(name)
    assert (prof.registry, prof.deploy_block, prof.chain_id) == (d["registry"], d["block"], d["chain_id"])
    net = ("--network", name)
    reg = run(*net, "twin", "register", photos["astronaut"], "--as", "model", "--manifest", tmp_path / f"{name}.json")
    twin = reg["twin_id"]
    granted = run(*net, "license", "grant", twin, "--to", "brand", "--channels", "social", "--for", "30d", "--as", "model")
    run(
        *net,
        "license",
        "offer",
        twin,
        "--to",
        "brand",
        "--channels",
        "social,print",
        "--for",
        "30d",
        "--fee",
        "1gwei",
        "--as",
        "model",
        "--out",
        tmp_path / f"{name}-offer.json",
    )
    accepted = run(*net, "license", "accept", tmp_path / f"{name}-offer.json", "--as", "brand")
    pub = run(
        *net,
        "publish",
        photos["coffee"],
        "--license",
        accepted["license_id"],
        "--channel",
        "social",
        "--territory",
        "FR",
        "--as",
        "brand",
    )
    assert pub["fee_paid_wei"] == 10**9
    run(
        *net,
        "publish",
        photos["rocket"],
        "--license",
        granted["license_id"],
        "--channel",
        "social",
        "--territory",
        "FR",
        "--as",
        "brand",
    )
    shown = run(*net, "license", "show", accepted["license_id"])
    assert shown["uses"] == 1 and shown["grantor"] == shown["model"]
    run(*net, "license", "revoke", accepted["license_id"], "--as", "model")
    # a third party: its own home, the network added by hand, syncs from the deploy block and verifies
    third = {"CONSENTRY_HOME": str(tmp_path / f"third-{name}")}
    run(
        "--registry",
        d["registry"],
        "network",
        "add",
        "shared",
        "--rpc",
        prof.rpc,
        "--deploy-block",
        d["block"],
        "--confirmations",
        "0",
        env=third,
    )
    synced = run(
        "--network", "shared", "--index", tmp_path / f"{name}.db", "sync", "--manifest", tmp_path / f"{name}.json", env=third
    )
    assert synced["from_block"] == d["block"] and synced["counts"]["publications"] == 2
    assert run("--network", "shared", "--index", tmp_path / f"{name}.db", "sync", "--check", env=third)["consistent"]
    run("trust", "add", reg_owner(cli, home), "--name", "Ana", env=third)
    res = run(
        "--index", tmp_path / f"{name}.db", "verify", photos["rocket"], photos["coffee"], photos["astronaut"], code=3, env=third
    )["results"]
    assert [r["verdict"] for r in res] == ["authorised", "authorised-then-ended", "twin-asset"]
    return d, per_command


def reg_owner(cli, home) -> str:
    accts = json.loads((home / "keystore" / "model.json").read_text())
    return "0x" + accts["address"]


def test_the_whole_story_on_anvil(cli, tmp_path, photos, monkeypatch):
    with node.EphemeralAnvil() as url:
        d, _ = story(cli, url, tmp_path, photos, monkeypatch)
        assert d["chain_id"] == 31337


def test_the_whole_story_on_hardhat_a_second_evm_implementation(cli, tmp_path, photos, monkeypatch):
    with node.EphemeralHardhat(chain_id=4242) as url:
        d, _ = story(cli, url, tmp_path, photos, monkeypatch)
        assert d["chain_id"] == 4242


def test_the_whole_story_through_a_capped_rate_limiting_flaky_provider(cli, tmp_path, photos, monkeypatch):
    with node.EphemeralAnvil() as url, RpcProxy(url) as proxy:
        proxy.range_cap, proxy.range_style = 3, "infura"
        proxy.rate_limit_every, proxy.drop_every = 7, 11
        d, per_command = story(cli, proxy.url, tmp_path, photos, monkeypatch, counts=lambda: proxy.calls)
    assert proxy.refused["range"] and proxy.refused["429"] and proxy.refused["drop"]
    # every command asks the chain id at most once (retries of a refused request aside)
    for cmd, reqs in per_command.items():
        assert reqs.get("eth_chainId", 0) <= 1, (cmd, reqs)
    print(json.dumps(per_command, indent=1))


@pytest.mark.parametrize("style", ["alchemy", "quicknode", "wide", "large", "limit"])
def test_sync_adapts_to_every_provider_range_error_shape(cli, tmp_path, photos, monkeypatch, style):
    with node.EphemeralAnvil() as url:
        from consentry import rpc

        monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "h"))
        cli.json("--network", url, "account", "create", "d", "--fund")
        d = cli.json("--network", url, "deploy", "--as", "d", "--name", "n")
        cli.json("--network", "n", "twin", "register", photos["camera"], "--as", "d")
        rpc.request(url, "anvil_mine", [hex(40)])
        cli.json("--network", "n", "twin", "register", photos["horse"], "--as", "d")
        with RpcProxy(url) as proxy:
            proxy.range_cap, proxy.range_style = 8, style
            out = cli.json(
                "--network",
                proxy.url,
                "--registry",
                d["registry"],
                "--index",
                tmp_path / "i.db",
                "sync",
                "--from-block",
                d["block"],
                "--range",
                "64",
            )
        assert out["counts"]["twins"] == 2 and proxy.refused["range"] >= 1
        assert proxy.calls["eth_getLogs"] < 30  # it learnt the cap instead of halving to single blocks


def test_deploy_refuses_a_node_that_cannot_run_the_code(cli, tmp_path, monkeypatch):
    """Like an artifact built for Cancun on a node without MCOPY (Ganache): deploying works, calls do not."""
    from consentry import chain_artifact

    art = dict(chain_artifact.artifact())
    # initcode returning the runtime code 0x5e00: MCOPY, then STOP
    art["bytecode"] = "0x6002600c60003960026000f3" + "5e00"
    monkeypatch.setattr(chain_artifact, "artifact", lambda: art)
    monkeypatch.setattr("consentry.chain.artifact", lambda: art)
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "h"))
    with node.EphemeralAnvil("--hardfork", "shanghai") as url:
        cli.json("--network", url, "account", "create", "d", "--fund")
        out = cli.json("--network", url, "deploy", "--as", "d", "--name", "old", code=1)
    assert out["error_code"] == "evm_unsupported" and "cannot run the registry's code" in out["error"]
    assert "old" not in networks.load()


def test_a_chain_without_eip1559_gets_legacy_transactions(cli, tmp_path, photos, monkeypatch):
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "h"))
    with node.EphemeralAnvil("--hardfork", "berlin") as url:
        from consentry import rpc

        assert "baseFeePerGas" not in rpc.request(url, "eth_getBlockByNumber", ["latest", False])
        cli.json("--network", url, "account", "create", "d", "--fund")
        cli.json("--network", url, "deploy", "--as", "d", "--name", "legacy")
        out = cli.json("--network", "legacy", "twin", "register", photos["camera"], "--as", "d")
        tx = rpc.request(url, "eth_getTransactionByHash", [out["tx"]])
        assert tx["type"] == "0x0"
        out = cli.json("--network", "legacy", "--gas-price", "3gwei", "twin", "register", photos["horse"], "--as", "d")
        assert int(rpc.request(url, "eth_getTransactionByHash", [out["tx"]])["gasPrice"], 16) == 3 * 10**9
        r = cli.json("--network", "legacy", "--max-fee", "3gwei", "twin", "register", photos["coffee"], "--as", "d", code=2)
        assert "--gas-price" in r["error"]


def test_fee_overrides_on_an_eip1559_chain_and_no_funds_says_which_chain_and_how_much(cli, tmp_path, photos, monkeypatch):
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "h"))
    with node.EphemeralAnvil(chain_id=777) as url:
        from consentry import rpc

        cli.json("--network", url, "account", "create", "d", "--fund")
        d = cli.json("--network", url, "deploy", "--as", "d", "--name", "x", "--confirmations", "0")
        out = cli.json(
            "--network", "x", "--max-fee", "5gwei", "--priority-fee", "2gwei", "twin", "register", photos["camera"], "--as", "d"
        )
        tx = rpc.request(url, "eth_getTransactionByHash", [out["tx"]])
        assert int(tx["maxFeePerGas"], 16) == 5 * 10**9 and int(tx["maxPriorityFeePerGas"], 16) == 2 * 10**9
        cli.json("--network", "x", "account", "create", "poor")
        r = cli.json("--network", "x", "twin", "register", photos["horse"], "--as", "poor", code=1)
        assert r["error_code"] == "insufficient_funds"
        assert "chain 777" in r["error"] and "needs up to" in r["error"] and "has 0" in r["error"]
        assert d["chain_id"] == 777


def test_fund_is_refused_on_a_chain_that_is_not_a_dev_node(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "h"))
    with node.EphemeralAnvil() as url, RpcProxy(url) as proxy:
        proxy.rewrite["web3_clientVersion"] = lambda params, result: "Geth/v1.14.0-stable/linux-amd64/go1.22"
        r = cli.run("--network", proxy.url, "account", "create", "x", "--fund", code=2)
    assert "--fund works only on the embedded local chain" in r.stderr
    assert not (tmp_path / "h" / "keystore" / "x.json").exists()  # nothing half-written


def test_network_add_list_show_and_errors(cli, tmp_path, monkeypatch, local_node):
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("MY_RPC", local_node["rpc_url"])
    cli.json("--registry", local_node["registry"], "network", "add", "dev", "--rpc-env", "MY_RPC")
    cli.json(
        "--chain-id",
        "31337",
        "--registry",
        local_node["registry"],
        "network",
        "add",
        "keyed",
        "--rpc",
        "https://user:pw@rpc.example.invalid/v2/SECRETKEY123?k=1",
        "--no-check",
    )
    listed = cli.json("network", "list")
    assert {n["name"] for n in listed["networks"]} == {"dev", "keyed"}
    text = cli.run("network", "list").stdout + cli.run("network", "show", "keyed").stdout + json.dumps(listed)
    assert "SECRETKEY123" not in text and "rpc.example.invalid" in text
    shown = cli.json("network", "show", "dev")["network"]
    assert shown["chain_id"] == 31337 and shown["rpc_env"] == "MY_RPC"
    assert (tmp_path / "h" / "networks.toml").stat().st_mode & 0o077 == 0
    r = cli.json("--network", "dve", "license", "show", "1", code=2)
    assert "did you mean 'dev'" in r["error"]
    r = cli.json("--network", "keyed", "license", "show", "1", code=1)  # unreachable: host only, never the key
    assert "SECRETKEY123" not in json.dumps(r) and "user:pw" not in r["error"] and r["error_code"] == "rpc_unreachable"
    assert "rpc.example.invalid" in r["error"]
    monkeypatch.delenv("MY_RPC")
    assert "$MY_RPC" in cli.json("--network", "dev", "license", "show", "1", code=1)["error"]


def test_the_profile_file_is_toml_readable_by_the_standard_library(tmp_path, monkeypatch):
    import tomllib

    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path))
    networks.save(
        networks.Network(
            "base-sepolia",
            rpc_env="BASE",
            chain_id=84532,
            registry="0x" + "ab" * 20,
            deploy_block=123,
            confirmations=12,
            log_range=2000,
        )
    )
    networks.save(networks.Network("odd", rpc='https://x.example/"quoted"\\path', chain_id=1))
    data = tomllib.loads((tmp_path / "networks.toml").read_text())
    assert data["networks"]["base-sepolia"]["deploy_block"] == 123
    assert networks.get("odd").rpc == 'https://x.example/"quoted"\\path'


def test_a_registry_of_another_version_is_refused_in_one_line(cli, tmp_path, monkeypatch):
    """A 2.2 registry records 56-byte imprints under another Published event: this client would mis-record
    and mis-read it, so it refuses it before any work (the code answers version() = "2.2.0")."""
    from consentry import rpc

    def word(b: bytes) -> str:
        return "7f" + b.hex().ljust(64, "0")

    runtime = (
        "7f"
        + (32).to_bytes(32, "big").hex()
        + "600052"
        + "7f"
        + (5).to_bytes(32, "big").hex()
        + "602052"
        + word(b"2.2.0")
        + "604052"
        + "60606000f3"
    )
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "h"))
    with node.EphemeralAnvil() as url:
        old = "0x" + "42" * 20
        rpc.request(url, "anvil_setCode", [old, "0x" + runtime])
        out = cli.json("--network", url, "--registry", old, "license", "show", "1", code=1)
    assert out["error_code"] == "registry_version" and "'2.2.0'" in out["error"] and "2.3.x" in out["error"]


def test_a_light_keystore_signing_on_a_public_chain_is_warned_about(cli, tmp_path, photos, monkeypatch, local_node, session_home):
    """CONSENTRY_LIGHT_KDF makes cheap keystores for tests; one that signs on a chain that is not a development
    chain gets a warning (once), a strong one does not, nor a light one on the embedded chain."""
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "h"))
    with node.EphemeralAnvil(chain_id=778) as url:
        cli.json("--network", url, "account", "create", "light", "--fund")
        cli.json("--network", url, "deploy", "--as", "light", "--name", "p", "--confirmations", "0")
        r = cli.run("--network", "p", "twin", "register", photos["camera"], "--as", "light")
        assert r.stderr.count("has a light keystore") == 1 and "CONSENTRY_LIGHT_KDF" in r.stderr
        monkeypatch.delenv("CONSENTRY_LIGHT_KDF")
        cli.json("--network", url, "account", "create", "strong", "--fund")
        r = cli.run("--network", "p", "twin", "register", photos["horse"], "--as", "strong")
        assert "light keystore" not in r.stderr
    monkeypatch.setenv("CONSENTRY_LIGHT_KDF", "1")
    monkeypatch.setenv("CONSENTRY_HOME", str(session_home))
    name = f"light-local{next(_names)}"
    cli.json("account", "create", name, "--fund")
    r = cli.run("twin", "register", photos["rocket"], "--as", name)
    assert "light keystore" not in r.stderr


def test_a_profile_names_its_fee_tokens_and_fee_amounts_use_them(cli, tmp_path, local_node, new_account, photos):
    """`network add --token USDC=0x…` lets `--fee 2.5USDC` resolve on that network (the embedded chain's test USDC
    here, reached through a saved profile); a malformed token entry is a usage error."""
    model, _ = new_account("tokmodel")
    brand, _ = new_account("tokbrand")
    usdc = local_node["tokens"]["USDC"]
    home = str(tmp_path / "h")
    r = cli.json("--registry", local_node["registry"], "network", "add", "bad", "--rpc", local_node["rpc_url"],
                 "--token", "USDC=0x12", env={"CONSENTRY_HOME": home}, code=2)  # fmt: skip
    assert "bad token" in r["error"]
    cli.json("--registry", local_node["registry"], "network", "add", "viaprofile", "--rpc", local_node["rpc_url"],
             "--token", f"usdc={usdc}")  # fmt: skip
    assert cli.json("network", "show", "viaprofile")["network"]["tokens"] == f"USDC={usdc}"
    twin = cli.json("--network", "viaprofile", "twin", "register", photos["astronaut"], "--as", model)["twin_id"]
    g = cli.json("--network", "viaprofile", "license", "grant", twin, "--to", brand, "--channels", "social",
                 "--fee", "2.5USDC", "--for", "30d", "--as", model)  # fmt: skip
    shown = cli.json("--network", "viaprofile", "license", "show", g["license_id"])
    assert shown["currency"] == {"currency": usdc, "symbol": "USDC", "decimals": 6} and shown["fee_per_use"] == "2500000"
