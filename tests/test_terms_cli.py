"""Registry 2.2's terms on the CLI, against the real embedded chain: the purpose (required), AI training,
the after-end rule (and verify's `after_end`), suspension, stablecoin fees paid by allowance and
withdrawn per currency, offer cancellation and random nonces, and the model's own consent to
alterations for an agency's grant. Every bad value is an exit-2 usage error of one line."""

import json
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import STOCK_PURPOSE, Cli, _names, one_line
from consentry import termsdoc, vocab
from consentry.currency import ERC20_ABI

PURPOSE = "Autumn 2027 knitwear launch: Instagram and TikTok posts in France"
NO_CODE = "0x" + "5a" * 20  # an address with no contract on the embedded chain


def photo(tmp_path, name, salt=0):
    """A photograph no other test records (the session's chain and index are shared)."""
    seed = zlib.crc32(f"{tmp_path}/{name}/{salt}".encode())
    path = tmp_path / f"{name}.png"
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def accounts(local_node):
    """The module's accounts, funded with ether and test USDC (the dev account funds about a hundred
    accounts a session, so tests share these and register a twin each)."""
    cli = Cli()
    out = {}
    for role in ("model", "brand", "brand2", "agency", "agency2"):
        name = f"t{role}{next(_names)}"
        out[role] = (name, cli.json("account", "create", name, "--fund")["address"])
    return out


@pytest.fixture(scope="module")
def shared(accounts, tmp_path_factory):
    """One twin for the tests whose commands fail before any transaction."""
    d = tmp_path_factory.mktemp("terms")
    (model, model_addr), (brand, brand_addr) = accounts["model"], accounts["brand"]
    twin = Cli().json("twin", "register", photo(d, "capture"), "--as", model)["twin_id"]
    return {"model": model, "model_addr": model_addr, "brand": brand, "brand_addr": brand_addr, "twin": twin, "d": d}


@pytest.fixture
def story(cli, accounts, tmp_path):
    """A twin of its own registered by the module's model, and the module's brand."""
    (model, model_addr), (brand, brand_addr) = accounts["model"], accounts["brand"]
    twin = cli.json("twin", "register", photo(tmp_path, "capture"), "--as", model)["twin_id"]
    return {"model": model, "model_addr": model_addr, "brand": brand, "brand_addr": brand_addr, "twin": twin, "d": tmp_path}


def grant(cli, s, *args, code=0, purpose=True, as_=None):
    cmd = ["license", "grant", s["twin"], "--to", s["brand"], "--channels", "social", "--territories", "FR"]
    if "--for" not in args and "--until" not in args:
        cmd += ["--for", "30d"]
    return cli.json(*cmd, *args, "--as", as_ or s["model"], code=code, purpose=purpose)


def publish(cli, s, license_id, image, code=0, as_=None):
    cmd = ["publish", image, "--license", license_id, "--channel", "social", "--territory", "FR", "--as", as_ or s["brand"]]
    return cli.json(*cmd, code=code)


def usdc_address(cli, account) -> str:
    (usdc,) = [b for b in cli.json("earnings", "--as", account)["balances"] if b["symbol"] == "USDC"]
    assert usdc["decimals"] == 6 and usdc["currency"].startswith("0x")
    return usdc["currency"]


def token_balance(local_node, token, owner) -> int:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(local_node["rpc_url"]))
    return w3.eth.contract(address=token, abi=ERC20_ABI).functions.balanceOf(owner).call()


# ---------------------------------------------------------------- the purpose, training and after-end options


def _terms_cmd(verb, s):
    cmd = ["license", verb, s["twin"], "--to", s["brand"], "--channels", "social", "--for", "30d", "--as", s["model"]]
    if verb == "offer":
        cmd += ["--out", s["d"] / "offer.json"]
    if verb == "consent":
        cmd += ["--agent", s["brand"], "--transforms", "face", "--out", s["d"] / "consent.json"]
    return cmd


@pytest.mark.parametrize("verb", ["grant", "offer", "consent"])
@pytest.mark.parametrize(
    "purpose, words",
    [
        (None, "--purpose is required (at least 10 characters): describe the intended uses in words"),
        ("", "--purpose is required"),
        ("Campaign", "--purpose is required"),  # 8 characters: not a description
        ("  Campaign ", "--purpose is required"),  # padding does not count
        ("Campaign images\x1b[2K for Instagram", "--purpose must be one line of printable text of at most 2000 characters"),
        ("Campaign images\nfor Instagram", "--purpose must be one line of printable text"),
        ("Campaign images \u202efor Instagram", "--purpose must be one line of printable text"),
        ("p" * 2001, "--purpose must be one line of printable text of at most 2000 characters"),
    ],
)
def test_a_missing_short_or_unprintable_purpose_is_a_usage_error(cli, shared, verb, purpose, words):
    story = shared
    cmd = _terms_cmd(verb, story) + ([] if purpose is None else ["--purpose", purpose])
    err = cli.json(*cmd, code=2, purpose=False)
    assert err["error_code"] == "usage" and words in err["error"], err
    assert words in one_line(cli.run(*cmd, code=2, purpose=False))
    assert not (story["d"] / "offer.json").exists() and not (story["d"] / "consent.json").exists()


@pytest.mark.parametrize("verb", ["grant", "offer", "consent"])
@pytest.mark.parametrize(
    "option, value, choices",
    [
        ("--training", "yes", "'not-allowed', 'allowed'"),
        ("--training", "Allowed ", "'not-allowed', 'allowed'"),
        ("--training", "", "'not-allowed', 'allowed'"),
        ("--after-end", "delete", "'remain', 'remove'"),
        ("--after-end", "keep", "'remain', 'remove'"),
    ],
)
def test_a_bad_training_or_after_end_value_is_a_usage_error(cli, shared, verb, option, value, choices):
    story = shared
    cmd = _terms_cmd(verb, story) + [option, value]
    err = cli.json(*cmd, code=2)
    assert err["error_code"] == "usage" and f"Invalid value for '{option}'" in err["error"] and choices in err["error"], err


def test_agent_appoint_refuses_a_bad_training_value_and_a_currency_without_code(cli, story, accounts):
    agency, _ = accounts["agency"]
    cmd = ["agent", "appoint", story["twin"], agency, "--as", story["model"]]
    err = cli.json(*cmd, "--training", "sometimes", code=2)
    assert err["error_code"] == "usage" and "Invalid value for '--training'" in err["error"]
    err = cli.json(*cmd, "--currency", NO_CODE, code=2)
    assert err["error_code"] == "usage" and "is not a token contract" in err["error"] and "(no code there)" in err["error"]


def test_license_show_prints_purpose_training_and_after_end(cli, story, local_node, tmp_path):
    lic = grant(cli, story, "--purpose", PURPOSE, "--training", "allowed", "--after-end", "remove")
    assert lic["terms_document"]["purpose"] == PURPOSE and lic["terms_document"]["training"] == "allowed"
    assert lic["terms_hash"] == "0x" + termsdoc.terms_hash(lic["terms_document"]).hex()
    shown = cli.json("license", "show", lic["license_id"])
    assert (shown["purpose"], shown["training"], shown["after_end"]) == (PURPOSE, "allowed", "remove")
    assert shown["terms_document"] == lic["terms_document"] and shown["terms_hash"] == lic["terms_hash"]
    assert shown["currency"] == {"currency": "native", "symbol": "ETH", "decimals": 18} and shown["suspended"] is False
    words = cli.run("license", "show", lic["license_id"]).stdout
    assert f"  purpose       {PURPOSE}\n" in words and "  AI training   allowed\n" in words
    assert "after the end published images must be removed" in words

    default = grant(cli, story)
    shown = cli.json("license", "show", default["license_id"])
    assert (shown["purpose"], shown["training"], shown["after_end"]) == (STOCK_PURPOSE, "not-allowed", "remain")
    words = cli.run("license", "show", default["license_id"]).stdout
    assert "  AI training   not-allowed\n" in words and "published images may remain" in words

    # a machine that does not keep the terms document shows the on-chain terms and says where the purpose is
    elsewhere = {"CONSENTRY_HOME": str(tmp_path / "elsewhere")}
    target = ["--network", local_node["rpc_url"], "--registry", local_node["registry"]]
    shown = cli.json(*target, "license", "show", lic["license_id"], env=elsewhere)
    assert shown["purpose"] is None and shown["terms_document"] is None and shown["training"] == "allowed"
    words = cli.run(*target, "license", "show", lic["license_id"], env=elsewhere).stdout
    assert "purpose       (the terms document is not kept on this machine" in words


# ---------------------------------------------------------------- stablecoin fees


def credited(cli, account) -> dict:
    return {b["symbol"]: b for b in cli.json("earnings", "--as", account)["balances"]}


def test_a_usdc_fee_is_paid_by_allowance_credited_in_units_and_withdrawn(cli, story, local_node):
    usdc = usdc_address(cli, story["model"])
    model_held = token_balance(local_node, usdc, story["model_addr"])
    brand_held = token_balance(local_node, usdc, story["brand_addr"])
    assert brand_held >= 10 * 10**6  # `account create --fund` minted test USDC
    before = int(credited(cli, story["model"])["USDC"]["units"])

    lic = grant(cli, story, "--fee", "2.5USDC")
    assert lic["terms_document"]["rate"] == {"fee_per_use": "2500000", "currency": usdc, "symbol": "USDC", "decimals": 6}
    shown = cli.json("license", "show", lic["license_id"])
    assert shown["fee_per_use"] == "2500000" and shown["fee_per_use_wei"] is None and shown["fee_shown"] == "2.5 USDC"
    assert shown["currency"] == {"currency": usdc, "symbol": "USDC", "decimals": 6}
    assert f"fee per use   2.5 USDC (token {usdc})" in cli.run("license", "show", lic["license_id"]).stdout

    pub = publish(cli, story, lic["license_id"], photo(story["d"], "look-1"))
    assert pub["fee_paid"] == "2500000" and pub["fee_paid_wei"] == 0
    assert (pub["currency"], pub["symbol"], pub["decimals"]) == (usdc, "USDC", 6)
    assert len(pub["txs"]) == 2 and pub["txs"][-1] == pub["tx"]  # the exact approve, then the publication
    assert token_balance(local_node, usdc, story["brand_addr"]) == brand_held - 2_500_000

    earned = credited(cli, story["model"])
    assert earned["USDC"] == {"currency": usdc, "symbol": "USDC", "decimals": 6, "units": str(before + 2_500_000)}
    assert earned["ETH"]["currency"] == "native" and earned["ETH"]["decimals"] == 18

    pub = publish(cli, story, lic["license_id"], photo(story["d"], "look-2"))  # the allowance was exact: approved again
    assert pub["fee_paid"] == "2500000" and len(pub["txs"]) == 2
    total = before + 5_000_000
    assert credited(cli, story["model"])["USDC"]["units"] == str(total)
    assert f"{total / 10**6:g} USDC" in cli.run("earnings", "--as", story["model"]).stdout

    w = cli.json("earnings", "--as", story["model"], "--withdraw")
    assert [(x["currency"], x["symbol"], x["units"]) for x in w["withdrawn"] if x["currency"] != "native"] == [
        (usdc, "USDC", str(total))
    ]
    assert {"currency": usdc, "symbol": "USDC", "decimals": 6, "units": "0"} in w["balances"]
    assert token_balance(local_node, usdc, story["model_addr"]) == model_held + total
    assert token_balance(local_node, usdc, story["brand_addr"]) == brand_held - 5_000_000
    err = cli.json("earnings", "--as", story["model"], "--withdraw", code=1)
    assert err["error_code"] == "NothingToWithdraw"


def test_a_token_fee_by_address_with_currency(cli, story):
    usdc = usdc_address(cli, story["model"])
    lic = grant(cli, story, "--fee", "0.75", "--currency", usdc)
    assert lic["terms_document"]["rate"]["fee_per_use"] == "750000"
    assert cli.json("license", "show", lic["license_id"])["fee_shown"] == "0.75 USDC"
    lic = grant(cli, story, "--fee", "0.75usdc", "--currency", usdc)  # the symbol may be repeated, in any case
    assert lic["terms_document"]["rate"]["fee_per_use"] == "750000"


def test_bad_fee_currencies_are_usage_errors(cli, story, local_node):
    usdc = usdc_address(cli, story["model"])
    cases = [
        (["--fee", "3EURC"], "--fee '3EURC': this network knows no token 'EURC' (known: USDC)"),
        (["--fee", "0.0000001USDC"], "finer than the currency's smallest unit (6 decimals)"),
        (["--fee", "2000000000000000000USDC"], "--fee must be below 2^80 of the currency's smallest unit"),
        (["--fee", "2.5", "--currency", NO_CODE], "is not a token contract on chain"),
        (["--fee", "2.5", "--currency", "0x1234"], "--currency '0x1234' is not an address"),
        (["--fee", "2.5", "--currency", "USDC"], "--currency 'USDC' is not an address"),
        (["--fee", "2.5EURC", "--currency", usdc], f"--fee says EURC but --currency {usdc} is USDC"),
        (["--fee", "2.5ether", "--currency", usdc], "is in the native coin; with --currency give the amount only"),
        (["--fee", "2.5", "--currency", local_node["registry"]], "does not answer symbol() and decimals() like an ERC-20"),
    ]
    for args, words in cases:
        err = grant(cli, story, *args, code=2)
        assert err["error_code"] == "usage" and words in err["error"], (args, err)
        cmd = ["license", "grant", story["twin"], "--to", story["brand"], "--channels", "social", *args]
        assert words in one_line(cli.run(*cmd, "--as", story["model"], code=2)), args


def test_an_agent_mandate_in_usdc_allowing_training(cli, story, accounts):
    agency, _ = accounts["agency"]
    usdc = usdc_address(cli, story["model"])
    cli.run("agent", "appoint", story["twin"], agency, "--as", story["model"], "--currency", usdc, "--training", "allowed")
    ok = grant(cli, story, "--fee", "1USDC", "--training", "allowed", as_=agency)
    shown = cli.json("license", "show", ok["license_id"])
    assert shown["training"] == "allowed" and shown["currency"]["currency"] == usdc and shown["grantor"] != story["model_addr"]
    err = grant(cli, story, "--fee", "0.001ether", as_=agency, code=1)
    assert err["error_code"] == "MandateExceeded" and "currency" in err["error"], err

    other, _ = accounts["agency2"]
    cli.run("agent", "appoint", story["twin"], other, "--as", story["model"])  # native coin, no training
    err = grant(cli, story, "--training", "allowed", as_=other, code=1)
    assert err["error_code"] == "MandateExceeded" and "training" in err["error"], err


# ---------------------------------------------------------------- suspension


def test_suspend_refuses_publications_until_resumed(cli, story):
    lic = grant(cli, story)["license_id"]
    publish(cli, story, lic, photo(story["d"], "before"))
    out = cli.json("license", "suspend", lic, "--as", story["model"])
    assert out["suspended"] is True and out["license_id"] == lic
    shown = cli.json("license", "show", lic)
    assert shown["suspended"] is True and shown["valid_now"] is False and shown["revoked"] is False and shown["uses"] == 1

    err = publish(cli, story, lic, photo(story["d"], "during"), code=1)
    assert err["error_code"] == "LicenseIsSuspended" and [r["code"] for r in err["details"]["reasons"]] == ["suspended"]
    cmd = ["publish", photo(story["d"], "during"), "--license", lic, "--channel", "social", "--territory", "FR"]
    assert f"license {lic} is suspended by the model" in one_line(cli.run(*cmd, "--as", story["brand"], code=1))
    no = cli.json("check", photo(story["d"], "during"), "--license", lic, "--channel", "social", "--territory", "FR", code=3)
    assert [r["code"] for r in no["reasons"]] == ["suspended"]
    assert cli.json("license", "suspend", lic, "--as", story["model"], code=1)["error_code"] == "LicenseIsSuspended"

    out = cli.json("license", "resume", lic, "--as", story["model"])
    assert out["suspended"] is False
    assert cli.json("license", "show", lic)["suspended"] is False
    publish(cli, story, lic, photo(story["d"], "after"))
    assert cli.json("license", "show", lic)["uses"] == 2
    assert cli.json("license", "resume", lic, "--as", story["model"], code=1)["error_code"] == "LicenseNotSuspended"


def test_only_the_model_suspends_or_resumes(cli, story):
    lic = grant(cli, story)["license_id"]
    err = cli.json("license", "suspend", lic, "--as", story["brand"], code=1)
    assert err["error_code"] == "NotTwinOwner", err
    assert cli.json("license", "show", lic)["suspended"] is False
    cli.run("license", "suspend", lic, "--as", story["model"])
    assert cli.json("license", "resume", lic, "--as", story["brand"], code=1)["error_code"] == "NotTwinOwner"
    assert cli.json("license", "show", lic)["suspended"] is True
    assert cli.json("license", "suspend", 10**9, "--as", story["model"], code=1)["error_code"] == "UnknownLicense"


# ---------------------------------------------------------------- offers: cancellation, nonces


def offer(cli, s, name, *extra):
    path = s["d"] / name
    cmd = ["license", "offer", s["twin"], "--to", s["brand"], "--channels", "social", "--for", "30d", *extra]
    out = cli.json(*cmd, "--as", s["model"], "--out", path)
    return path, out


def test_a_cancelled_offer_cannot_be_accepted(cli, story):
    path, made = offer(cli, story, "offer.json")
    out = cli.json("license", "offer", "cancel", path, "--as", story["model"])
    assert out["cancelled"] is True and out["nonce"] == made["nonce"] == json.loads(path.read_text())["nonce"]
    err = cli.json("license", "accept", path, "--as", story["brand"], "--yes", code=1)
    assert err["error_code"] == "OfferNonceUsed", err
    one_line(cli.run("license", "accept", path, "--as", story["brand"], "--yes", code=1))
    # cancelling by the nonce itself works the same
    path, made = offer(cli, story, "offer-2.json")
    assert cli.json("license", "offer", "cancel", made["nonce"], "--as", story["model"])["nonce"] == made["nonce"]
    assert cli.json("license", "accept", path, "--as", story["brand"], "--yes", code=1)["error_code"] == "OfferNonceUsed"


def test_an_accepted_offer_cannot_be_cancelled_or_accepted_again(cli, story):
    path, made = offer(cli, story, "offer.json")
    cli.json("license", "accept", path, "--as", story["brand"], "--yes")
    assert cli.json("license", "accept", path, "--as", story["brand"], "--yes", code=1)["error_code"] == "OfferNonceUsed"
    assert cli.json("license", "offer", "cancel", path, "--as", story["model"], code=1)["error_code"] == "OfferNonceUsed"


def test_offers_signed_back_to_back_have_different_random_nonces(cli, story, session_home):
    (p1, a), (p2, b) = offer(cli, story, "a.json"), offer(cli, story, "b.json")
    assert isinstance(a["nonce"], str) and a["nonce"] != b["nonce"]
    assert int(a["nonce"]) > 2**64 and int(b["nonce"]) > 2**64  # 256 random bits, not a counter
    assert not (session_home / "offer-nonces.json").exists()  # registry 2.1's local counter is gone
    assert cli.json("license", "accept", p1, "--as", story["brand"], "--yes")["license_id"] >= 1
    assert cli.json("license", "accept", p2, "--as", story["brand"], "--yes")["license_id"] >= 1


def test_an_offer_in_usdc_shows_the_token_fee_when_accepted(cli, story):
    path, _ = offer(cli, story, "usdc.json", "--fee", "2.5USDC", "--purpose", PURPOSE)
    r = cli.run("license", "accept", path, "--as", story["brand"], "--yes")
    assert "rate          2.5 USDC per use (token " in r.stdout and f"purpose       {PURPOSE}" in r.stdout
    assert "warning" not in r.stderr


# ---------------------------------------------------------------- the model's own consent to alterations


@pytest.fixture
def agency(cli, story, accounts):
    name, addr = accounts["agency"]
    cli.run("agent", "appoint", story["twin"], name, "--as", story["model"], "--transforms", "outfit")
    return name, addr


def consent(cli, s, agency_name, out, *extra, transforms="face"):
    cmd = ["license", "consent", s["twin"], "--agent", agency_name, "--to", s["brand"], "--channels", "social"]
    cmd += ["--territories", "FR", "--for", "30d", "--transforms", transforms, *extra]
    return cli.json(*cmd, "--as", s["model"], "--out", out)


def test_an_agency_grants_an_alteration_only_with_the_models_consent(cli, story, agency):
    name, addr = agency
    within = grant(cli, story, "--transforms", "outfit", as_=name)  # the mandate covers outfit
    assert cli.json("license", "show", within["license_id"])["grantor"] == addr

    err = grant(cli, story, "--transforms", "face", as_=name, code=1)
    assert err["error_code"] == "ModelConsentRequired" and "`consentry license consent" in err["error"], err
    cmd = ["license", "grant", story["twin"], "--to", story["brand"], "--channels", "social", "--transforms", "face,outfit"]
    line = one_line(cli.run(*cmd, "--as", name, code=1))
    assert "only with the model's own consent" in line and "--consent consent.json" in line

    c = story["d"] / "c.json"
    made = consent(cli, story, name, c, "--purpose", PURPOSE)
    assert made["alterations"] == ["face"] and made["agent"] == addr
    signed = json.loads(c.read_text())
    assert signed["kind"] == "consentry-consent" and set(signed["consent"]) == {"agent", "nonce", "deadline"}
    assert signed["consent"]["agent"] == addr and signed["terms"]["transforms"] == "128"  # she signs the terms themselves

    granted = cli.json("license", "grant", story["twin"], "--consent", c, "--as", name)
    shown = cli.json("license", "show", granted["license_id"])
    assert shown["grantor"] == addr and shown["grantor"] != story["model_addr"] and shown["model"] == story["model_addr"]
    assert shown["transforms"] == ["face"] and shown["purpose"] == PURPOSE and shown["licensee"] == story["brand_addr"]
    # the consent is used once
    err = cli.json("license", "grant", story["twin"], "--consent", c, "--as", name, code=1)
    assert err["error_code"] == "OfferNonceUsed", err


def test_a_consent_is_for_its_agent_only(cli, story, agency, accounts):
    name, addr = agency
    other, _ = accounts["agency2"]
    cli.run("agent", "appoint", story["twin"], other, "--as", story["model"], "--transforms", "outfit")
    c = story["d"] / "c.json"
    consent(cli, story, name, c)
    err = cli.json("license", "grant", story["twin"], "--consent", c, "--as", other, code=1)
    assert err["error_code"] == "ConsentMismatch" and addr in err["error"], err


def test_a_consent_edited_to_another_agent_is_refused(cli, story, agency, accounts):
    name, addr = agency
    other, other_addr = accounts["agency2"]
    cli.run("agent", "appoint", story["twin"], other, "--as", story["model"], "--transforms", "outfit")
    c = story["d"] / "c.json"
    consent(cli, story, name, c)
    original = json.loads(c.read_text())
    edited = json.loads(json.dumps(original))
    edited["consent"]["agent"] = other_addr
    c.write_text(json.dumps(edited))
    # the agent it was given to now holds a consent naming another agent
    err = cli.json("license", "grant", story["twin"], "--consent", c, "--as", name, code=1)
    assert err["error_code"] == "ConsentMismatch" and other_addr in err["error"], err
    # the other agent, named by the edit: the model's signature names the first
    err = cli.json("license", "grant", story["twin"], "--consent", c, "--as", other, code=1)
    assert err["error_code"] == "InvalidSignature", err
    c.write_text(json.dumps(original))
    granted = cli.json("license", "grant", story["twin"], "--consent", c, "--as", name)
    assert cli.json("license", "show", granted["license_id"])["grantor"] == addr


@pytest.mark.parametrize("field", ["licensee", "territories", "max_uses"])
def test_a_consent_edited_to_other_terms_is_refused(cli, story, agency, accounts, field):
    """The model signs the whole terms: an agent (or anyone holding the file) cannot stretch them, to another
    brand, more territories or unlimited uses, even with the terms document rewritten to match."""
    name, _ = agency
    _, other_brand = accounts["brand2"]
    c = story["d"] / "c.json"
    consent(cli, story, name, c, "--max-uses", "10")
    original = json.loads(c.read_text())
    edited = json.loads(json.dumps(original))
    terms, doc = edited["terms"], edited["terms_document"]
    if field == "licensee":
        terms["licensee"] = doc["licensee"] = other_brand
    elif field == "territories":  # she consented to France only
        terms["territories"] = str(vocab.pack_territories(["FR", "DE", "US"]))
        doc["scope"]["territories"] = ["FR", "DE", "US"]
    else:  # she consented to 10 uses
        terms["maxUses"], doc["scope"]["max_uses"] = "0", 0

    # only the terms, the terms hash kept as she signed it (the red-team's attack): the document still says what she signed
    only_terms = json.loads(json.dumps(edited))
    only_terms["terms_document"] = original["terms_document"]
    c.write_text(json.dumps(only_terms))
    err = cli.json("license", "grant", story["twin"], "--consent", c, "--as", name, code=1)
    assert err["error_code"] == "terms_inconsistent" and field.replace("_", " ") in err["error"], err

    # the document too, rehashed: only the model's signature is left to refuse it
    terms["termsHash"] = "0x" + termsdoc.terms_hash(doc).hex()
    c.write_text(json.dumps(edited))
    err = cli.json("license", "grant", story["twin"], "--consent", c, "--as", name, code=1)
    assert err["error_code"] == "InvalidSignature", err
    one_line(cli.run("license", "grant", story["twin"], "--consent", c, "--as", name, code=1))

    # the untouched consent still works: nothing above used its nonce
    c.write_text(json.dumps(original))
    assert cli.json("license", "grant", story["twin"], "--consent", c, "--as", name)["license_id"] >= 1


def test_a_consent_needs_an_alteration_and_the_twins_owner(cli, story, agency):
    name, _ = agency
    c = story["d"] / "c.json"
    cmd = ["license", "consent", story["twin"], "--agent", name, "--to", story["brand"], "--channels", "social"]
    err = cli.json(*cmd, "--transforms", "outfit", "--as", story["model"], "--out", c, code=2)
    assert err["error_code"] == "usage" and "--transforms has no alteration (age, body, face)" in err["error"]
    err = cli.json(*cmd, "--transforms", "age", "--as", story["brand"], "--out", c, code=2)
    assert err["error_code"] == "usage" and "only the twin's owner" in err["error"], err
    assert not c.exists()


# ---------------------------------------------------------------- verify's after_end


def test_verify_after_end_says_remove_or_may_remain_once_the_license_ended(cli, story, tmp_path, index_path):
    remove = grant(cli, story, "--after-end", "remove")["license_id"]
    remain = grant(cli, story)["license_id"]
    a, b = photo(tmp_path, "to-remove"), photo(tmp_path, "may-remain")
    publish(cli, story, remove, a)
    publish(cli, story, remain, b)

    verifier = {"CONSENTRY_HOME": str(tmp_path / "verifier")}
    cli.run("trust", "add", story["model_addr"], "--name", "Ana", env=verifier)

    cli.json("--index", index_path, "sync")
    res = cli.json("--index", index_path, "verify", a, b, env=verifier)["results"]
    assert [(r["license_id"], r["verdict"], r["after_end"]) for r in res] == [
        (remove, "authorised", None),
        (remain, "authorised", None),
    ]
    assert res[0]["license"]["after_end_rule"] == "remove" and res[1]["license"]["after_end_rule"] == "remain"

    cli.run("license", "revoke", remove, "--as", story["model"])
    cli.run("license", "revoke", remain, "--as", story["model"])
    cli.json("--index", index_path, "sync")
    res = cli.json("--index", index_path, "verify", a, b, code=3, env=verifier)["results"]
    assert [(r["license_id"], r["verdict"], r["after_end"]) for r in res] == [
        (remove, "authorised-then-ended", "remove"),
        (remain, "authorised-then-ended", "may-remain"),
    ]
    words = cli.run("--index", index_path, "verify", a, b, code=3, env=verifier).stdout
    assert "this image must be REMOVED (the license says so)" in words and "this image may remain published" in words


def test_sync_keeps_terms_documents_and_verify_shows_the_purpose(cli, new_account, tmp_path, photos, local_node):
    """The index keeps the terms documents this user made, and those given with `sync --terms FILE` (only
    under the hash a license commits to); `verify` then shows the license's purpose."""
    import json as json_

    model, _ = new_account("docmodel")
    brand, _ = new_account("docbrand")
    twin = cli.json("twin", "register", photos["horse"], "--as", model)["twin_id"]
    purpose = "Autumn 2027 outdoor posters for the Maison coat line"
    g = cli.json("license", "grant", twin, "--to", brand, "--channels", "outdoor", "--for", "30d", "--as", model,
                 "--purpose", purpose)  # fmt: skip
    look = tmp_path / "poster.jpg"  # a picture no other test publishes: two photographs side by side
    left = Image.open(photos["chelsea"]).convert("RGB").resize((320, 800))
    right = Image.open(photos["coffee"]).convert("RGB").resize((320, 800))
    poster = Image.new("RGB", (640, 800))
    poster.paste(left, (0, 0))
    poster.paste(right, (320, 0))
    poster.save(look, quality=90)
    cli.json("publish", look, "--license", g["license_id"], "--channel", "outdoor", "--territory", "FR", "--as", brand)

    # a verifier on another machine: no document until someone gives it one
    other = {"CONSENTRY_HOME": str(tmp_path / "verifier")}
    index = tmp_path / "v.db"
    net = ["--network", local_node["rpc_url"], "--registry", local_node["registry"]]
    cli.run("--json", *net, "--index", index, "sync", env=other)
    (r,) = json_.loads(cli.run("--json", "--index", index, "verify", look, env=other, code=3).stdout)["results"]
    assert r["license"]["purpose"] is None
    doc = tmp_path / "terms.json"
    doc.write_text(json_.dumps(g["terms_document"]))
    out = json_.loads(cli.run("--json", *net, "--index", index, "sync", "--terms", doc, env=other).stdout)
    assert out["terms_documents_kept"] == 1
    (r,) = json_.loads(cli.run("--json", "--index", index, "verify", look, env=other, code=3).stdout)["results"]
    assert r["license"]["purpose"] == purpose

    # a document no license commits to (its purpose changed) is not kept, and said so
    forged = dict(g["terms_document"], purpose="Anything at all, anywhere, forever")
    doc.write_text(json_.dumps(forged))
    res = cli.run(*net, "--index", tmp_path / "v2.db", "sync", "--terms", doc, env=other)
    assert "no license in the index commits to the terms document" in res.stdout


def test_verify_and_the_page_show_a_token_fee_in_its_currency_and_the_after_end_rule(cli, story, tmp_path):
    """A USDC fee is not shown as wei: verify names the token (and its symbol from the kept terms document); the
    verifier page says the fee, the training rule and what happens after the end."""
    from consentry.serve_page import result_html

    usdc = usdc_address(cli, story["model"])
    lic = grant(cli, story, "--fee", "2.5USDC", "--after-end", "remove", "--training", "allowed")
    image = photo(story["d"], "token-fee-look")
    publish(cli, story, lic["license_id"], image)
    index = tmp_path / "tok.db"
    cli.json("--index", index, "sync")
    (r,) = json.loads(cli.run("--json", "--index", index, "verify", image, code=None).stdout)["results"]
    fee = {k: r["license"][k] for k in ("fee_per_use", "fee_per_use_wei", "currency", "fee_shown")}
    assert fee == {"fee_per_use": "2500000", "fee_per_use_wei": None, "currency": usdc, "fee_shown": f"2.5 USDC (token {usdc})"}
    assert r["license"]["purpose"] == STOCK_PURPOSE and r["license"]["after_end_rule"] == "remove"
    page = result_html(r)
    assert "2.5 USDC" in page and "wei" not in page and "must be removed when it ends" in page and "AI training allowed" in page

    cli.run("license", "revoke", lic["license_id"], "--as", story["model"])
    (r,) = json.loads(cli.run("--json", "--index", index, "verify", image, code=None).stdout)["results"]
    assert r["after_end"] is None  # the index has not seen the revocation yet
    cli.json("--index", index, "sync")
    (r,) = json.loads(cli.run("--json", "--index", index, "verify", image, code=None).stdout)["results"]
    assert r["after_end"] == "remove" and "<strong>must be removed</strong>" in result_html(r)
