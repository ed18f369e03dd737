"""Offers are an exchange format, so hostile: `license accept` checks the offer's text against the hash
the model signed and shows the terms; out-of-range terms are usage errors, not internal ones."""

import json

import pytest
from PIL import Image

from conftest import Cli, _names


@pytest.fixture(scope="module")
def parties(tmp_path_factory, local_node):
    cli = Cli()
    d = tmp_path_factory.mktemp("offers")
    model, brand = f"omodel{next(_names)}", f"obrand{next(_names)}"
    cli.run("account", "create", model, "--fund")
    cli.run("account", "create", brand, "--fund")
    capture = d / "capture.jpg"
    Image.new("RGB", (80, 96), (30, 140, 90)).save(capture)
    twin = cli.json("twin", "register", capture, "--as", model)["twin_id"]
    return {"cli": cli, "d": d, "model": model, "brand": brand, "twin": twin}


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
        *extra,
        "--as",
        p["model"],
        "--out",
        path,
    )
    return path


def test_an_offer_whose_text_says_something_else_is_refused_before_any_transaction(parties):
    path = offer(parties, "tampered.json")
    o = json.loads(path.read_text())
    o["terms_text"] = o["terms_text"].replace("Fee per use: 2000000000000000 wei", "Fee per use: free")
    assert "free" in o["terms_text"]
    path.write_text(json.dumps(o))
    err = parties["cli"].json("license", "accept", path, "--as", parties["brand"], code=1)
    assert err["error_code"] == "offer_terms_mismatch" and "not what the model signed" in err["error"]


def test_an_honest_offer_shows_its_terms_and_fee_and_is_accepted(parties):
    path = offer(parties, "honest.json")
    r = parties["cli"].run("license", "accept", path, "--as", parties["brand"])
    assert "fee 0.002 ether per use" in r.stdout and "social in FR" in r.stdout and "granted from the offer" in r.stdout
    out = parties["cli"].json("license", "accept", offer(parties, "honest-2.json"), "--as", parties["brand"])
    assert out["fee_per_use_wei"] == 2 * 10**15 and "fee 0.002 ether per use" in out["accepted"]


def test_an_offer_without_text_must_carry_the_standard_terms_hash(parties):
    path = offer(parties, "no-text.json")
    o = json.loads(path.read_text())
    del o["terms_text"]
    path.write_text(json.dumps(o))
    assert parties["cli"].json("license", "accept", path, "--as", parties["brand"])["license_id"] >= 1
    custom = parties["d"] / "terms.txt"
    custom.write_text("Special terms: social posts in France only, credit the model by name.\n")
    path = offer(parties, "custom-no-text.json", "--terms", custom)
    o = json.loads(path.read_text())
    del o["terms_text"]
    path.write_text(json.dumps(o))
    err = parties["cli"].json("license", "accept", path, "--as", parties["brand"], code=1)
    assert err["error_code"] == "offer_terms_mismatch" and "no terms text" in err["error"]


@pytest.mark.parametrize(
    "args, words",
    [
        (("--fee", "2000000ether"), "below 2^80 wei"),
        (("--from", "1960-01-01", "--until", "2030-01-01"), "between 1970"),
        (("--for", "3654d"), "at most ten years"),
    ],
)
def test_out_of_range_terms_are_usage_errors(parties, args, words):
    cmd = [
        "license",
        "grant",
        parties["twin"],
        "--to",
        parties["brand"],
        "--channels",
        "social",
        "--territories",
        "FR",
        *args,
        "--as",
        parties["model"],
    ]
    if "--until" not in args and "--for" not in args:
        cmd[-2:-2] = ["--for", "30d"]
    err = parties["cli"].json(*cmd, code=2)
    assert err["error_code"] == "usage" and words in err["error"], err
