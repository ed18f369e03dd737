"""Bad input: one actionable line, a non-zero exit, no traceback, nothing half-written."""

import json

import pytest

from consentry import rpc


@pytest.fixture
def model_and_twin(cli, new_account, photos):
    model, addr = new_account("model")
    twin = cli.json("twin", "register", photos["rocket"], "--as", model)["twin_id"]
    return model, twin


def one_line_error(result, *words):
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for w in words:
        assert w in err[0], err[0]
    return err[0]


def test_missing_file(cli, new_account, tmp_path, session_home):
    model, _ = new_account("model")
    before = sorted((session_home / "manifests").glob("*")) if (session_home / "manifests").exists() else []
    r = cli.run("twin", "register", tmp_path / "nope.jpg", "--as", model, code=1)
    one_line_error(r, "nope.jpg", "no such file")
    after = sorted((session_home / "manifests").glob("*")) if (session_home / "manifests").exists() else []
    assert after == before


def test_not_an_image(cli, tmp_path, new_account):
    model, _ = new_account("model")
    (tmp_path / "notes.jpg").write_text("hello")
    one_line_error(cli.run("twin", "register", tmp_path / "notes.jpg", "--as", model, code=1), "not an image")


def test_truncated_image(cli, tmp_path, photos):
    data = photos["coffee"].read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    one_line_error(cli.run("verify", tmp_path / "cut.jpg", code=1), "truncated")


def test_a_missing_asset_registers_nothing(cli, new_account, photos, tmp_path, local_node):
    model, _ = new_account("model")
    model_addr = next(a["address"] for a in cli.json("account", "list")["accounts"] if a["name"] == model)
    count = lambda: rpc.request(local_node["rpc_url"], "eth_getTransactionCount", [model_addr, "latest"])  # noqa: E731
    before = count()
    r = cli.run(
        "twin", "register", photos["coffee"], tmp_path / "gone.jpg", "--as", model, "--manifest", tmp_path / "m.json", code=1
    )
    one_line_error(r, "gone.jpg")
    assert not (tmp_path / "m.json").exists()
    assert count() == before


def test_unknown_account(cli, photos, local_node):
    one_line_error(cli.run("twin", "register", photos["coffee"], "--as", "nobody", code=1), "unknown account 'nobody'")


def test_wrong_password(cli, new_account, photos, monkeypatch):
    model, _ = new_account("model")
    monkeypatch.setenv("CONSENTRY_PASSWORD", "wrong")
    one_line_error(cli.run("twin", "register", photos["coffee"], "--as", model, code=1), "wrong password")


def test_no_node_running(cli, tmp_path, monkeypatch, photos):
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "empty"))
    one_line_error(cli.run("license", "show", "1", code=1), "no local node running", "consentry node start")
    one_line_error(cli.run("sync", code=1), "no local node")
    assert "not running" in cli.run("node", "status", code=1).stdout


def test_rpc_unreachable(cli):
    r = cli.run("--network", "http://127.0.0.1:9", "--registry", "0x" + "11" * 20, "license", "show", "1", code=1)
    one_line_error(r, "cannot reach the RPC endpoint")


def test_not_an_rpc_url(cli):
    one_line_error(
        cli.run("--network", "mainnet", "license", "show", "1", code=2),
        "unknown network 'mainnet'",
        "'local', an http(s) RPC URL, or a saved network",
    )


def test_wrong_chain_id(cli, local_node):
    one_line_error(cli.run("--chain-id", "1", "license", "show", "1", code=1), "wrong chain", "expected 1")


def test_no_contract_at_the_address(cli, local_node):
    r = cli.run("--registry", "0x" + "de" * 20, "license", "show", "1", code=1)
    one_line_error(r, "no contract at")


def test_a_reverted_transaction_is_decoded(cli, new_account, model_and_twin):
    stranger, _ = new_account("stranger")
    _, twin = model_and_twin
    r = cli.run("twin", "withdraw", twin, "--as", stranger, code=1)
    one_line_error(r, f"does not own twin {twin}")


def test_insufficient_funds(cli, new_account, photos):
    poor, _ = new_account("poor", fund=False)
    one_line_error(cli.run("twin", "register", photos["coffee"], "--as", poor, code=1), "insufficient funds")


def test_unknown_license_and_twin(cli, model_and_twin):
    model, _ = model_and_twin
    one_line_error(cli.run("license", "show", "999999", code=1), "unknown license 999999")
    one_line_error(cli.run("twin", "withdraw", "999999", "--as", model, code=1), "unknown twin 999999")


def offer(cli, model, twin, brand, path, *extra):
    cli.run("license", "offer", twin, "--to", brand, "--channels", "social", "--for", "10d", "--as", model, "--out", path, *extra)
    return json.loads(path.read_text())


def test_an_offer_used_twice(cli, new_account, model_and_twin, tmp_path):
    model, twin = model_and_twin
    brand, _ = new_account("brand")
    offer(cli, model, twin, brand, tmp_path / "o.json")
    cli.run("license", "accept", tmp_path / "o.json", "--as", brand)
    one_line_error(cli.run("license", "accept", tmp_path / "o.json", "--as", brand, code=1), "already used")


def test_two_outstanding_offers_both_work(cli, new_account, model_and_twin, tmp_path):
    model, twin = model_and_twin
    brand, _ = new_account("brand")
    a = offer(cli, model, twin, brand, tmp_path / "a.json")
    b = offer(cli, model, twin, brand, tmp_path / "b.json")
    assert a["nonce"] != b["nonce"]
    cli.run("license", "accept", tmp_path / "b.json", "--as", brand)
    cli.run("license", "accept", tmp_path / "a.json", "--as", brand)


def test_an_expired_offer(cli, new_account, model_and_twin, tmp_path, local_node):
    model, twin = model_and_twin
    brand, _ = new_account("brand")
    offer(cli, model, twin, brand, tmp_path / "o.json", "--valid-for", "1s")
    rpc.request(local_node["rpc_url"], "evm_increaseTime", [3])
    rpc.request(local_node["rpc_url"], "evm_mine", [])
    one_line_error(cli.run("license", "accept", tmp_path / "o.json", "--as", brand, code=1), "offer expired")


def test_an_offer_for_another_chain(cli, new_account, model_and_twin, tmp_path):
    model, twin = model_and_twin
    brand, _ = new_account("brand")
    o = offer(cli, model, twin, brand, tmp_path / "o.json")
    o["chain_id"] = 1
    (tmp_path / "o.json").write_text(json.dumps(o))
    one_line_error(cli.run("license", "accept", tmp_path / "o.json", "--as", brand, code=1), "offer is for chain 1")


def test_a_tampered_offer(cli, new_account, model_and_twin, tmp_path):
    model, twin = model_and_twin
    brand, _ = new_account("brand")
    o = offer(cli, model, twin, brand, tmp_path / "o.json")
    # a consistent forgery: terms, document and hash all say 1000 uses; only the signature is the model's old one
    from consentry import termsdoc

    o["terms"]["maxUses"] = "1000"
    o["terms_document"]["scope"]["max_uses"] = 1000
    o["terms"]["termsHash"] = "0x" + termsdoc.terms_hash(o["terms_document"]).hex()
    (tmp_path / "o.json").write_text(json.dumps(o))
    one_line_error(cli.run("license", "accept", tmp_path / "o.json", "--as", brand, code=1), "not signed by the twin's owner")


def test_an_offer_whose_document_contradicts_its_terms(cli, new_account, model_and_twin, tmp_path):
    """Terms changed but not the signed document: refused before any transaction, naming the field."""
    model, twin = model_and_twin
    brand, _ = new_account("brand")
    o = offer(cli, model, twin, brand, tmp_path / "o.json")
    o["terms"]["maxUses"] = "1000"
    (tmp_path / "o.json").write_text(json.dumps(o))
    r = cli.json("license", "accept", tmp_path / "o.json", "--as", brand, code=1)
    assert r["error_code"] == "terms_inconsistent" and "max uses" in r["error"]


def test_not_an_offer_file(cli, tmp_path, new_account):
    brand, _ = new_account("brand")
    (tmp_path / "x.json").write_text("{}")
    one_line_error(cli.run("license", "accept", tmp_path / "x.json", "--as", brand, code=1), "not a Consentry offer file")


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--until", "2027-13-45", "bad date"),
        ("--for", "ninety days", "bad duration"),
        ("--fee", "ten bucks", "bad fee"),
        ("--channels", "billboard", "unknown channel 'billboard'"),
        ("--territories", "XX", "unknown territory 'XX'"),
        ("--transforms", "teleport", "unknown transformation 'teleport'"),
        ("--territories", "FR,DE,IT,ES,PT,NL", "at most 5 territories"),
    ],
)
def test_bad_terms(cli, new_account, model_and_twin, option, value, words):
    model, twin = model_and_twin
    brand, _ = new_account("brand")
    args = {"--channels": "social", "--for": None}
    args[option] = value
    flat = [x for k, v in args.items() if v is not None for x in (k, v)]
    r = cli.run("license", "grant", twin, "--to", brand, *flat, "--as", model, code=2)
    one_line_error(r, words)


def test_errors_in_json_mode_are_one_object(cli, tmp_path):
    r = cli.run("--json", "verify", tmp_path / "missing.jpg", code=1)
    out = json.loads(r.stdout)
    assert out["exit_code"] == 1 and "no such file" in out["error"] and out["schema_version"] == 1


def test_global_options_work_after_the_subcommand_too(cli, tmp_path):
    """People type flags where they think of them: `consentry verify x.jpg --json`."""
    import json

    from PIL import Image

    Image.new("RGB", (32, 32), "blue").save(tmp_path / "x.png")
    r = cli.run("verify", tmp_path / "x.png", "--index", tmp_path / "none.db", "--json", code=1)
    out = json.loads(r.stdout)
    assert "run `consentry sync` first" in out["error"] and out["exit_code"] == 1
    r = cli.run("verify", tmp_path / "x.png", f"--index={tmp_path / 'none.db'}", "--json", code=1)
    assert json.loads(r.stdout)["exit_code"] == 1


def test_json_errors_carry_a_stable_error_code(cli, tmp_path, new_account):
    """Scripts tell an unreachable RPC from a bad file from a reverted transaction without parsing prose."""
    import json

    r = json.loads(
        cli.run(
            "--json",
            "--network",
            "http://127.0.0.1:9",
            "--registry",
            "0x" + "11" * 20,
            "--index",
            tmp_path / "i.db",
            "sync",
            code=1,
        ).stdout
    )
    assert r["error_code"] == "rpc_unreachable" and r["exit_code"] == 1
    r = json.loads(cli.run("--json", "verify", tmp_path / "missing.jpg", code=1).stdout)
    assert r["error_code"] == "bad_file"
    r = json.loads(
        cli.run(
            "--json",
            "license",
            "grant",
            "1",
            "--to",
            "0x" + "22" * 20,
            "--channels",
            "nope",
            "--territories",
            "FR",
            "--for",
            "1d",
            "--as",
            "nobody",
            code=2,
        ).stdout
    )
    assert r["error_code"] == "usage" and r["exit_code"] == 2
    model, _ = new_account("ecmodel")
    twin = cli.json("twin", "register", tmp_path / "x.png", "--as", model, code=1)  # no such file
    assert twin["error_code"] == "bad_file"
    brand, _ = new_account("ecbrand")
    out = cli.json("license", "revoke", "999999", "--as", brand, code=1)
    assert out["error_code"] in ("UnknownLicense", "not_found") and isinstance(out["details"], dict)
