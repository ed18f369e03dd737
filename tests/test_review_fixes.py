"""What an independent review and a new user's first hour found in registry 2.2's CLI, each pinned: an offer
cancelled by someone else, a bare fee number, terms options beside --consent, a forged `signer` field, out-of-range
ids and mandate values, a profile token whose contract says another symbol, a terms document written with
lowercase addresses, the HTTP API's license view (token fee, suspension) and documents after a reorganisation."""

import json

import pytest
from PIL import Image

from conftest import Cli, _names, one_line
from consentry import config, termsdoc


@pytest.fixture(scope="module")
def people(local_node, tmp_path_factory, photos):
    cli = Cli()
    d = tmp_path_factory.mktemp("review")
    out = {"d": d}
    for role in ("model", "brand", "eve", "agency"):
        name = f"r{role}{next(_names)}"
        out[role] = name
        out[role + "_addr"] = cli.json("account", "create", name, "--fund")["address"]
    capture = d / "capture.png"
    Image.open(photos["coffee"]).convert("RGB").crop((10, 10, 210, 260)).save(capture)
    out["twin"] = cli.json("twin", "register", capture, "--as", out["model"])["twin_id"]
    out["usdc"] = local_node["tokens"]["USDC"]
    return out


def offer(cli, p, name, *extra):
    path = p["d"] / f"{name}-{next(_names)}.json"
    cli.json("license", "offer", p["twin"], "--to", p["brand"], "--channels", "social", "--for", "30d", *extra,
             "--as", p["model"], "--out", path)  # fmt: skip
    return path


def test_only_the_signer_cancels_an_offer(cli, people):
    path = offer(cli, people, "o")
    line = one_line(cli.run("license", "offer", "cancel", path, "--as", people["eve"], code=2))
    assert "only" in line and people["model"] in line and "burn a nonce of its own" in line
    assert cli.json("license", "accept", path, "--as", people["brand"], "--yes")["license_id"]  # still good


def test_a_signed_file_is_never_overwritten(cli, people):
    path = offer(cli, people, "once")
    before = path.read_bytes()
    cmd = ["license", "offer", people["twin"], "--to", people["brand"], "--channels", "social", "--as", people["model"]]
    assert "exists already" in one_line(cli.run(*cmd, "--out", path, code=2))
    assert path.read_bytes() == before


@pytest.mark.parametrize("fee", ["1000000", "2.5"])
def test_a_bare_fee_needs_its_unit(cli, people, fee):
    cmd = ["license", "grant", people["twin"], "--to", people["brand"], "--channels", "social", "--as", people["model"]]
    assert "needs its unit" in one_line(cli.run(*cmd, "--fee", fee, code=2))
    g = cli.json(*cmd, "--fee", f"{fee}wei" if "." not in fee else f"{fee}gwei")
    assert g["terms_document"]["rate"]["symbol"] == "ETH"


def test_terms_options_beside_a_consent_are_refused(cli, people):
    path = people["d"] / "c.json"
    path.write_text("{}")
    line = one_line(
        cli.run("license", "grant", people["twin"], "--consent", path, "--channels", "print", "--as", people["agency"], code=2)
    )
    assert "--channels" in line and "consent file" in line


def test_accept_names_the_real_signer_not_the_files_signer_field(cli, people):
    path = offer(cli, people, "forged-signer")
    o = json.loads(path.read_text())
    o["signer"] = people["eve_addr"]
    path.write_text(json.dumps(o))
    out = cli.run("license", "accept", path, "--as", people["brand"], "--yes").stdout
    assert f"signed by {people['model_addr']}" in out and people["eve_addr"] not in out


@pytest.mark.parametrize(
    "args",
    [
        ["license", "show", str(2**266)],
        ["license", "suspend", str(2**40), "--as", "x"],
        ["license", "show", "--", "-3"],
        ["check", "x.jpg", "--license", str(2**33), "--channel", "social", "--territory", "FR"],
    ],
)
def test_an_id_out_of_range_is_a_usage_error(cli, args):
    assert "ids run from 1 to" in one_line(cli.run(*args, code=2)) or "not an id" in one_line(cli.run(*args, code=2))


@pytest.mark.parametrize(
    "flag, value", [("--min-fee", "2000000ether"), ("--max-duration", "99999999999d"), ("--for", "99999999999d")]
)
def test_a_mandate_value_out_of_range_is_a_usage_error(cli, people, flag, value):
    cmd = ["agent", "appoint", people["twin"], people["agency"], "--as", people["model"], flag, value]
    assert "out of range" in one_line(cli.run(*cmd, code=2))


def test_a_profile_token_whose_contract_says_another_symbol_is_refused(cli, people, local_node):
    name = f"eurcprofile{next(_names)}"
    cli.json("--registry", local_node["registry"], "network", "add", name, "--rpc", local_node["rpc_url"],
             "--token", f"EURC={people['usdc']}")  # fmt: skip
    cmd = ["--network", name, "license", "grant", people["twin"], "--to", people["brand"], "--channels", "social"]
    line = one_line(cli.run(*cmd, "--fee", "2.5EURC", "--as", people["model"], code=2))
    assert "calls itself USDC" in line


def test_a_terms_document_with_lowercase_addresses_keeps_its_hash(people):
    doc = {
        "kind": "consentry-terms",
        "schema_version": 1,
        "purpose": "Lowercase addresses as another client writes them",
        "twin_id": 1,
        "licensee": people["brand_addr"].lower(),
        "scope": {"channels": ["social"], "territories": ["WW"], "transforms": [], "max_uses": 0},
        "rate": {"fee_per_use": "0", "currency": "native", "symbol": "ETH", "decimals": 18},
        "duration": {"valid_from": 1, "valid_until": 2},
        "training": "not-allowed",
        "after_end": "remain",
        "disclosure": termsdoc.DISCLOSURE,
    }
    assert termsdoc.terms_hash(termsdoc.validate(json.loads(json.dumps(doc)), "doc")) == termsdoc.terms_hash(doc)


def test_the_http_api_shows_a_token_fee_and_a_suspension(cli, people, tmp_path):
    from consentry.serve import Service

    g = cli.json("license", "grant", people["twin"], "--to", people["brand"], "--channels", "social", "--fee", "2.5USDC",
                 "--as", people["model"])  # fmt: skip
    cli.run("license", "suspend", g["license_id"], "--as", people["model"])
    index = tmp_path / "api.db"
    cli.json("--index", index, "sync")
    lic = Service(index).license(g["license_id"])
    assert lic["suspended"] is True and lic["status"] == "suspended" and lic["valid_now"] is False
    assert lic["terms"]["fee_per_use"] == "2500000" and lic["terms"]["fee_per_use_wei"] is None
    assert lic["terms"]["fee_shown"] == f"2.5 USDC (token {people['usdc']})"
    assert lic["terms"]["purpose"] and lic["terms"]["training"] == "not-allowed"


def test_a_reorganisation_takes_a_licenses_terms_document_along(cli, people, tmp_path, local_node):
    from consentry import index

    cli.json("license", "grant", people["twin"], "--to", people["brand"], "--channels", "social", "--as", people["model"])
    path = tmp_path / "reorg.db"
    cli.json("--index", path, "sync")
    db = index.open_db(path)
    assert db.execute("SELECT count(*) FROM terms_documents").fetchone()[0] >= 1
    syncer = index.Syncer(db, local_node["rpc_url"], local_node["registry"], config.LOCAL_CHAIN_ID)
    syncer.rollback_to(-1)  # as if every block were reorganised away
    assert db.execute("SELECT count(*) FROM licenses").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM terms_documents").fetchone()[0] == 0


def test_errors_name_the_addresses_this_user_has_names_for(cli, people):
    g = cli.json("license", "grant", people["twin"], "--to", people["brand"], "--channels", "social", "--as", people["model"])
    line = one_line(cli.run("license", "suspend", g["license_id"], "--as", people["eve"], code=1))
    assert f"{people['eve_addr']} ({people['eve']})" in line
    err = cli.json("license", "suspend", g["license_id"], "--as", people["eve"], code=1)
    assert err["error_code"] == "NotTwinOwner" and f"({people['eve']})" in err["error"]


def test_a_token_that_does_not_answer_does_not_hide_the_other_fees(cli, people, local_node):
    out = cli.json("earnings", "--as", people["model"], "--currency", local_node["registry"])  # a contract, not a token
    rows = {b["currency"]: b for b in out["balances"]}
    assert rows["native"]["symbol"] == "ETH" and rows[local_node["registry"]]["symbol"] == "units of an unreadable token"
