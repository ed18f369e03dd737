"""Offers are an exchange format, so hostile: `license accept` checks the offer's terms document against
the hash the model signed and against the signed terms, and shows it; out-of-range terms are usage errors
(exit 2, one line), not internal ones."""

import json

import pytest
from PIL import Image

from conftest import Cli, _names, one_line
from consentry import termsdoc

PURPOSE = "Instagram posts for the autumn 2027 knitwear launch, France only"


@pytest.fixture(scope="module")
def parties(tmp_path_factory, local_node):
    cli = Cli()
    d = tmp_path_factory.mktemp("offers")
    model, brand = f"omodel{next(_names)}", f"obrand{next(_names)}"
    cli.run("account", "create", model, "--fund")
    brand_addr = cli.json("account", "create", brand, "--fund")["address"]
    capture = d / "capture.jpg"
    Image.new("RGB", (80, 96), (30, 140, 90)).save(capture)
    twin = cli.json("twin", "register", capture, "--as", model)["twin_id"]
    return {"cli": cli, "d": d, "model": model, "brand": brand, "brand_addr": brand_addr, "twin": twin}


def offer(p, name, *extra):
    path = p["d"] / name
    p["cli"].run(
        "license",
        "offer",
        p["twin"],
        "--to",
        p["brand"],
        "--channels",
        "social",
        "--territories",
        "FR",
        "--for",
        "30d",
        "--fee",
        "0.002ether",
        "--purpose",
        PURPOSE,
        *extra,
        "--as",
        p["model"],
        "--out",
        path,
    )
    return path


def edit(path, change):
    o = json.loads(path.read_text())
    change(o)
    path.write_text(json.dumps(o))
    return o


def test_an_offer_whose_document_says_free_over_a_signed_fee_is_refused_before_any_transaction(parties):
    path = offer(parties, "tampered.json")
    original = path.read_text()

    def free(o):
        assert o["terms_document"]["rate"]["fee_per_use"] == "2000000000000000" == o["terms"]["feePerUse"]
        o["terms_document"]["rate"]["fee_per_use"] = "0"
        o["terms_document"]["additional_terms"] = "Free of charge."

    edit(path, free)
    err = parties["cli"].json("license", "accept", path, "--as", parties["brand"], "--yes", code=1)
    assert err["error_code"] == "offer_terms_mismatch" and "not what was signed" in err["error"], err
    line = one_line(parties["cli"].run("license", "accept", path, "--as", parties["brand"], "--yes", code=1))
    assert "not what was signed" in line
    # no transaction was sent: the offer's nonce is still unused, and the untampered offer is accepted
    path.write_text(original)
    assert parties["cli"].json("license", "accept", path, "--as", parties["brand"], "--yes")["license_id"] >= 1


def test_a_consistent_looking_document_with_a_changed_field_is_refused(parties):
    """The document hashes to the terms hash in the file (whoever edited it rehashed it), but it says
    another channel than the signed terms: refused before the signature is even tried on chain."""
    path = offer(parties, "rehashed.json")

    def print_too(o):
        o["terms_document"]["scope"]["channels"] = ["social", "print"]
        o["terms"]["termsHash"] = "0x" + termsdoc.terms_hash(o["terms_document"]).hex()

    edit(path, print_too)
    err = parties["cli"].json("license", "accept", path, "--as", parties["brand"], "--yes", code=1)
    assert err["error_code"] == "terms_inconsistent", err
    assert "the terms document says channels ['social', 'print'] but the signed terms say ['social']" in err["error"]


def test_signed_terms_edited_under_an_unchanged_document_are_refused(parties):
    path = offer(parties, "terms-edited.json")
    edit(path, lambda o: o["terms"].update(trainingAllowed=True))
    err = parties["cli"].json("license", "accept", path, "--as", parties["brand"], "--yes", code=1)
    assert err["error_code"] == "terms_inconsistent" and "training 'not-allowed'" in err["error"], err


def test_an_honest_offer_shows_purpose_fee_and_training_and_is_accepted(parties):
    path = offer(parties, "honest.json")
    o = json.loads(path.read_text())
    assert o["schema_version"] == 2 and o["terms_document"]["purpose"] == PURPOSE and "terms_text" not in o
    assert isinstance(o["nonce"], str) and isinstance(o["deadline"], str) and o["terms"]["feePerUse"] == "2000000000000000"
    r = parties["cli"].run("license", "accept", path, "--as", parties["brand"])
    assert f"purpose       {PURPOSE}" in r.stdout
    assert "rate          0.002 ether per use" in r.stdout and "social in FR" in r.stdout
    assert "AI training   not-allowed" in r.stdout and "published images may remain" in r.stdout
    assert "granted from the offer" in r.stdout

    path = offer(parties, "honest-2.json", "--training", "allowed", "--after-end", "remove")
    out = parties["cli"].json("license", "accept", path, "--as", parties["brand"])
    assert out["fee_per_use"] == "2000000000000000" and out["fee_per_use_wei"] == 2 * 10**15
    assert out["terms_document"]["training"] == "allowed" and out["terms_document"]["after_end"] == "remove"
    assert out["terms_document"]["purpose"] == PURPOSE and out["terms_document"]["licensee"] == parties["brand_addr"]
    shown = parties["cli"].json("license", "show", out["license_id"])
    assert (shown["training"], shown["after_end"], shown["purpose"]) == ("allowed", "remove", PURPOSE)


@pytest.mark.parametrize("fee, shown", [("10ether", "10 ether"), ("100gwei", "100 gwei"), ("20000gwei", "20000 gwei")])
def test_a_whole_fee_is_shown_as_it_was_offered(parties, fee, shown):
    path = offer(parties, f"whole-{fee}.json", "--fee", fee)
    r = parties["cli"].run("license", "accept", path, "--as", parties["brand"])
    assert f"rate          {shown} per use" in r.stdout, r.stdout


def _grant_cmd(p, *args):
    cmd = ["license", "grant", p["twin"], "--to", p["brand"], "--channels", "social", "--territories", "FR", *args]
    if "--until" not in args and "--for" not in args:
        cmd += ["--for", "30d"]
    return [*cmd, "--as", p["model"]]


@pytest.mark.parametrize(
    "args, words",
    [
        (("--fee", "2000000ether"), "--fee must be below 2^80 of the currency's smallest unit"),
        (("--fee", "1208925819614629174706176wei"), "--fee must be below 2^80"),
        (("--fee", "1208925.819614629174706176ether"), "--fee must be below 2^80"),
        (("--fee", "0.5wei"), "smaller than one wei"),
        (("--fee", "-1ether"), "bad fee '-1ether'"),
        (("--from", "1960-01-01", "--until", "2030-01-01"), "--from must be a date between 1970"),
        (("--until", "36900-01-01"), "bad date '36900-01-01'"),
        (("--until", "9999-12-31"), "a license lasts at most ten years"),
        (("--for", "3654d"), "a license lasts at most ten years"),
        (("--max-uses", str(2**32)), "--max-uses must be between 0 (unlimited) and 4294967295"),
        (("--max-uses", "-1"), "--max-uses cannot be negative"),
        (("--channels", "billboards"), "billboards"),
        (("--territories", "FR,DE,IT,ES,PT,NL"), "at most 5"),
    ],
)
def test_out_of_range_terms_are_usage_errors_of_one_line(parties, args, words):
    cmd = _grant_cmd(parties, *args)
    err = parties["cli"].json(*cmd, code=2)
    assert err["error_code"] == "usage" and words in err["error"], err
    assert words in one_line(parties["cli"].run(*cmd, code=2))


@pytest.mark.parametrize("verb", ["grant", "offer"])
def test_a_license_of_exactly_ten_years_is_allowed_and_a_day_more_is_not(parties, verb):
    def extra(n):
        return ["--out", parties["d"] / f"ten-{verb}-{n}.json"] if verb == "offer" else []

    cmd = ["license", verb, parties["twin"], "--to", parties["brand"], "--channels", "social", "--as", parties["model"]]
    parties["cli"].run(*cmd, "--for", "3653d", *extra(1))
    err = parties["cli"].json(*cmd, "--for", "3654d", *extra(2), code=2)
    assert "at most ten years" in err["error"]


def test_an_out_of_range_nonce_to_cancel_is_a_usage_error(parties):
    cmd = ["license", "offer", "cancel", str(2**256), "--as", parties["model"]]
    assert parties["cli"].json(*cmd, code=2)["error_code"] == "usage"
    assert "a nonce is below 2^256" in one_line(parties["cli"].run(*cmd, code=2))
