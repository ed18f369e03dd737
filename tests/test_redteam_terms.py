"""Red-team tests of registry 2.2's terms on the CLI: offers and consents whose terms documents lie about
the fee, documents attached to licenses whose terms contradict them, `--terms` text the product cannot
read back, look-alike tokens, and hostile files. Holes are xfail(strict) until fixed; the rest show
attacks that are refused."""

import json
import secrets
import zlib
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account
from PIL import Image
from web3 import Web3

from conftest import STOCK_PURPOSE, _names
from consentry import offers, termsdoc

ARTIFACTS = Path(__file__).resolve().parents[1] / "src" / "consentry" / "artifacts"


def photo(tmp_path, name):
    seed = zlib.crc32(f"redteam/{tmp_path}/{name}".encode())
    path = tmp_path / f"{name}.png"
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(path)
    return path


def imported(cli, tmp_path, role):
    """An account whose private key the test holds (to sign what a hostile party would sign by hand)."""
    key = "0x" + secrets.token_hex(32)
    f = tmp_path / f"{role}.key"
    f.write_text(key)
    name = f"rt{role}{next(_names)}"
    address = cli.json("account", "import", name, "--key-file", f, "--fund")["address"]
    return name, address, key


@pytest.fixture
def party(cli, local_node, tmp_path):
    model, model_addr, model_key = imported(cli, tmp_path, "model")
    brand, brand_addr, brand_key = imported(cli, tmp_path, "brand")
    twin = cli.json("twin", "register", photo(tmp_path, "capture"), "--as", model)["twin_id"]
    return {
        "model": model,
        "model_addr": model_addr,
        "model_key": model_key,
        "brand": brand,
        "brand_addr": brand_addr,
        "brand_key": brand_key,
        "twin": twin,
        "d": tmp_path,
        "rpc": local_node["rpc_url"],
        "registry": local_node["registry"],
    }


def invoke(*args):
    """The CLI's result whatever its exit code (for attacks whose outcome the test then judges)."""
    from click.testing import CliRunner

    from consentry import cli as cli_mod

    return CliRunner().invoke(cli_mod.cli, [str(a) for a in args])


def w3_of(p):
    return Web3(Web3.HTTPProvider(p["rpc"]))


def registry_contract(p):
    abi = json.loads((ARTIFACTS / "ConsentRegistry.json").read_text())["abi"]
    return w3_of(p).eth.contract(address=p["registry"], abi=abi)


def send(p, key, fn):
    w3 = w3_of(p)
    sender = Account.from_key(key).address
    tx = fn.build_transaction({"from": sender, "nonce": w3.eth.get_transaction_count(sender), "gas": 3_000_000})
    signed = Account.from_key(key).sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 1
    return receipt


def resign_offer(path, model_key, edit_document):
    """The offer at `path` with its terms document edited, the terms hash recomputed and signed again by
    the model: everything a model (or anyone holding her key) can put in a file the brand then accepts."""
    raw = json.loads(path.read_text())
    edit_document(raw["terms_document"])
    raw["terms"]["termsHash"] = "0x" + termsdoc.terms_hash(raw["terms_document"]).hex()
    path.write_text(json.dumps(raw))
    loaded = offers.load(path)
    sig = offers.sign(
        Account.from_key(model_key), loaded["terms"], loaded["nonce"], loaded["deadline"], loaded["chain_id"], loaded["registry"]
    )
    raw["signature"] = "0x" + sig.hex()
    path.write_text(json.dumps(raw))
    return raw


def make_offer(cli, p, name, *extra):
    path = p["d"] / name
    cmd = ["license", "offer", p["twin"], "--to", p["brand"], "--channels", "social", "--territories", "FR", "--for", "30d"]
    cli.json(*cmd, *extra, "--as", p["model"], "--out", path)
    return path


# ---------------------------------------------------------------- the rate the brand is shown


def test_accept_shows_the_native_fee_the_brand_will_really_pay(cli, party):
    path = make_offer(cli, party, "native.json", "--fee", "1ether")

    def lie(doc):
        doc["rate"]["decimals"] = 24  # 10**18 wei shown with 24 decimals: "0.000001 ETH"

    resign_offer(path, party["model_key"], lie)
    r = invoke("license", "accept", path, "--as", party["brand"], "--yes")
    assert "0.000001 ETH per use" not in r.stdout, "the brand is shown a millionth of the fee it will pay"
    refused = r.exit_code == 1 and "decimals" in r.stderr
    assert refused or "rate          1 ETH per use" in r.stdout, (r.exit_code, r.stdout, r.stderr)


def test_accept_refuses_a_native_fee_document_naming_another_symbol(cli, party):
    path = make_offer(cli, party, "native-usdc.json", "--fee", "2500000wei")

    def lie(doc):
        doc["rate"].update(symbol="USDC", decimals=6)

    resign_offer(path, party["model_key"], lie)
    err = cli.json("license", "accept", path, "--as", party["brand"], "--yes", code=1)
    assert err["error_code"] == "terms_inconsistent", err


def test_a_token_fee_document_with_lying_decimals_is_refused_at_accept(cli, party):
    """Held: for a token, the document's symbol and decimals are checked against the token's own answers."""
    path = make_offer(cli, party, "usdc.json", "--fee", "2.5USDC")

    def lie(doc):
        doc["rate"]["decimals"] = 9  # 2,500,000 units shown as 0.0025 USDC

    resign_offer(path, party["model_key"], lie)
    err = cli.json("license", "accept", path, "--as", party["brand"], "--yes", code=1)
    assert err["error_code"] == "terms_inconsistent" and "decimals" in err["error"], err


def test_an_offer_document_saying_free_over_a_signed_fee_is_refused(cli, party):
    """Held: the document is rehashed and re-signed, so only the field-by-field check can refuse it."""
    path = make_offer(cli, party, "free.json", "--fee", "0.01ether")

    def free(doc):
        doc["rate"]["fee_per_use"] = "0"

    resign_offer(path, party["model_key"], free)
    err = cli.json("license", "accept", path, "--as", party["brand"], "--yes", code=1)
    assert err["error_code"] == "terms_inconsistent" and "fee per use" in err["error"], err


# ---------------------------------------------------------------- hostile offer files


def _offer_text(cli, party):
    path = make_offer(cli, party, "base.json")
    return path, path.read_text()


@pytest.mark.parametrize(
    "mangle, words",
    [
        (lambda t: "\ufeff" + t, "is not a readable offer file"),  # a BOM before the JSON
        (lambda t: t.replace('"schema_version": 2', '"schema_version": 2, "schema_version": 2', 1), "duplicate key"),
        (lambda t: t.replace('"purpose": ', '"purpose": "Free for any use, forever", "purpose": ', 1), "duplicate key"),
        (lambda t: t.replace('"max_uses": 0', '"max_uses": NaN', 1), "is not a readable offer file"),
        (lambda t: t.replace('"max_uses": 0', '"max_uses": 0.0', 1), "max_uses must be a whole number"),
        (lambda t: t.replace('"max_uses": 0', '"max_uses": 1e400', 1), "max_uses must be a whole number"),
        (lambda t: t.replace('"max_uses": 0', '"max_uses": ' + "9" * 5000, 1), "is not a readable offer file"),
        (lambda t: t.replace('"max_uses": 0', '"max_uses": false', 1), "max_uses must be a whole number"),
        (lambda t: t.replace('"max_uses": 0', '"max_uses": ' + "[" * 5000 + "]" * 5000, 1), "is not a readable offer file"),
        (lambda t: t.replace('"kind": "consentry-terms"', '"kind": "consentry-terms", "extra": 1', 1), "extra is not a field"),
        (lambda t: t.replace('"training": "not-allowed"', '"training": "not\u2010allowed"', 1), "training must be one of"),
    ],
)
def test_hostile_offer_files_are_refused_in_one_line(cli, party, mangle, words):
    path, text = _offer_text(cli, party)
    path.write_text(mangle(json.dumps(json.loads(text), indent=1)), encoding="utf-8")
    r = cli.run("license", "accept", path, "--as", party["brand"], "--yes", code=1)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr and words in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_terms_document_with_a_confusable_purpose_changes_the_hash(cli, party):
    """Held: a purpose with a Cyrillic 'а' is another document (another hash): refused as not signed."""
    path, text = _offer_text(cli, party)
    raw = json.loads(text)
    raw["terms_document"]["purpose"] = raw["terms_document"]["purpose"].replace("a", "\u0430", 1)
    path.write_text(json.dumps(raw))
    err = cli.json("license", "accept", path, "--as", party["brand"], "--yes", code=1)
    assert err["error_code"] == "offer_terms_mismatch", err


# ---------------------------------------------------------------- additional terms (--terms FILE)


@pytest.mark.parametrize("text", ["\ufeffExclusive use for the autumn campaign.\n", "Clause 1.\x0cClause 2 on a new page.\n"])
def test_additional_terms_the_model_signs_can_be_read_back(cli, party, text):
    terms = party["d"] / "terms.txt"
    terms.write_bytes(text.encode())
    path = party["d"] / "with-terms.json"
    cmd = ["license", "offer", party["twin"], "--to", party["brand"], "--channels", "social", "--for", "30d"]
    made = invoke("--json", *cmd, "--terms", terms, "--purpose", STOCK_PURPOSE, "--as", party["model"], "--out", path)
    if made.exit_code == 2:  # refused up front with a usage error: fine
        return
    assert made.exit_code == 0, made.stderr
    cli.json("license", "accept", path, "--as", party["brand"], "--yes")


# ---------------------------------------------------------------- documents attached to the wrong license


def test_a_document_is_not_shown_for_a_license_whose_terms_contradict_it(cli, party, tmp_path):
    purpose = "Instagram posts in France for the autumn knitwear launch only"
    a = cli.json(
        "license", "grant", party["twin"], "--to", party["brand"], "--channels", "social", "--territories", "FR",
        "--for", "30d", "--purpose", purpose, "--as", party["model"],
    )  # fmt: skip
    agency, agency_addr, agency_key = imported(cli, tmp_path, "agency")
    cli.run("agent", "appoint", party["twin"], agency, "--as", party["model"])
    reg = registry_contract(party)
    now = w3_of(party).eth.get_block("latest")["timestamp"]
    from consentry import vocab

    terms = (
        party["twin"],
        party["brand_addr"],
        vocab.channel_mask(["print", "outdoor", "video"]),  # not what document A says
        0,
        vocab.pack_territories(["WW"]),
        now,
        now + 300 * 86400,
        0,
        0,
        "0x" + "00" * 20,
        False,
        False,
        bytes.fromhex(a["terms_hash"][2:]),  # license A's terms hash, reused
    )
    send(party, agency_key, reg.functions.grantLicense(terms))
    b = reg.functions.counts().call()[1]
    shown = cli.json("license", "show", b)
    assert shown["channels"] == ["print", "outdoor", "video"]
    assert shown["purpose"] != purpose, "license B shows license A's purpose over other channels and territories"


# ---------------------------------------------------------------- look-alike tokens


@pytest.fixture
def lookalike_usdc(party):
    """A second TestUSDC: symbol() says USDC, 6 decimals, at an address the network profile does not list."""
    art = json.loads((ARTIFACTS / "TestUSDC.json").read_text())
    w3 = w3_of(party)
    c = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    receipt = send(party, party["brand_key"], c.constructor())
    return receipt["contractAddress"]


def test_the_model_is_warned_of_a_lookalike_usdc(cli, party, lookalike_usdc):
    cmd = ["license", "grant", party["twin"], "--to", party["brand"], "--channels", "social", "--for", "30d"]
    r = cli.run(*cmd, "--fee", "2.5USDC", "--currency", lookalike_usdc, "--as", party["model"])
    assert "not one this network profile lists" in r.stderr, (r.stdout, r.stderr)


def test_the_brand_is_warned_of_a_lookalike_usdc(cli, party, lookalike_usdc):
    """Held: `accept` flags a fee token the profile does not list."""
    path = make_offer(cli, party, "lookalike.json", "--fee", "2.5", "--currency", lookalike_usdc)
    r = cli.run("license", "accept", path, "--as", party["brand"], "--yes")
    assert "not one this network profile lists" in r.stderr and lookalike_usdc in r.stderr


# ---------------------------------------------------------------- verify --live: suspension and after_end


def _published(cli, party, tmp_path, index_path, *grant_args):
    lic = cli.json(
        "license", "grant", party["twin"], "--to", party["brand"], "--channels", "social", "--territories", "FR",
        "--for", "30d", *grant_args, "--as", party["model"],
    )["license_id"]  # fmt: skip
    img = photo(tmp_path, f"look-{lic}")
    cli.json("publish", img, "--license", lic, "--channel", "social", "--territory", "FR", "--as", party["brand"])
    cli.json("--index", index_path, "sync")
    cli.run("trust", "add", party["model_addr"], "--name", party["model"])
    return lic, img


def test_verify_live_keeps_the_verdict_of_a_publication_made_before_a_suspension(cli, party, tmp_path, index_path):
    lic, img = _published(cli, party, tmp_path, index_path)
    cli.run("license", "suspend", lic, "--as", party["model"])
    cli.json("--index", index_path, "sync")
    (offline,) = cli.json("--index", index_path, "verify", img)["results"]
    assert offline["verdict"] == "authorised"  # held: the index keeps it
    r = invoke("--json", "--index", index_path, "verify", "--live", img)
    (live,) = json.loads(r.stdout)["results"]
    assert live["verdict"] == "authorised", live


def test_verify_live_says_remove_for_a_license_ended_on_chain(cli, party, tmp_path, index_path):
    lic, img = _published(cli, party, tmp_path, index_path, "--after-end", "remove")
    cli.run("license", "revoke", lic, "--as", party["model"])  # the index is not synced again
    r = invoke("--json", "--index", index_path, "verify", "--live", img)
    (live,) = json.loads(r.stdout)["results"]
    assert live["verdict"] == "authorised-then-ended", live
    assert live["after_end"] == "remove", live
