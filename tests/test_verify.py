"""Verdicts and matching rules on real photographs, through the CLI against a real chain."""

import json

import pytest

from consentry import imaging


@pytest.fixture(scope="module")
def world(tmp_path_factory, photos, local_node):
    """A twin (astronaut asset); license A (social, EU+US, outfit) with coffee and rocket published;
    license B with chelsea published and then revoked; one synced index."""
    from conftest import Cli, _names

    cli = Cli()
    d = tmp_path_factory.mktemp("world")
    model, brand = f"wmodel{next(_names)}", f"wbrand{next(_names)}"
    cli.run("account", "create", model, "--fund")
    cli.run("account", "create", brand, "--fund")
    # a capture photo no other test registers (they share the session's chain)
    from PIL import Image

    capture = d / "capture.jpg"
    Image.open(photos["hubble_deep_field"]).crop((0, 0, 300, 300)).save(capture, quality=90)
    twin = cli.json("twin", "register", capture, "--as", model, "--manifest", d / "twin.json")["twin_id"]
    terms = [
        "--to",
        brand,
        "--channels",
        "social",
        "--territories",
        "EU,US",
        "--transforms",
        "outfit",
        "--for",
        "30d",
        "--as",
        model,
    ]
    lic_a = cli.json("license", "grant", twin, *terms)["license_id"]
    lic_b = cli.json("license", "grant", twin, *terms)["license_id"]
    pub = cli.json(
        "publish",
        photos["coffee"],
        photos["rocket"],
        "--license",
        lic_a,
        "--channel",
        "social",
        "--territory",
        "FR",
        "--transform",
        "outfit",
        "--as",
        brand,
    )
    cli.run("publish", photos["chelsea"], "--license", lic_b, "--channel", "social", "--territory", "US", "--as", brand)
    cli.run("license", "revoke", lic_b, "--as", model)
    index = d / "index.db"
    cli.json("--index", index, "sync", "--manifest", d / "twin.json")
    # the verifier is a third party with a home of its own: it trusts this model, nobody else
    verifier = {"CONSENTRY_HOME": str(d / "verifier")}
    model_address = cli.json("account", "list")
    model_address = next(a["address"] for a in model_address["accounts"] if a["name"] == model)
    cli.run("trust", "add", model_address, "--name", "World model", env=verifier)
    copies = d / "copies"
    copies.mkdir()
    for name, data in imaging.variants(photos["coffee"]).items():
        (copies / f"coffee-{name}.jpg").write_bytes(data)
    return {
        "index": index,
        "verifier": verifier,
        "rpc_url": local_node["rpc_url"],
        "registry": local_node["registry"],
        "twin": twin,
        "capture": capture,
        "lic_a": lic_a,
        "lic_b": lic_b,
        "tx": pub["tx"],
        "copies": copies,
        "model": model,
        "brand": brand,
    }


def verify(cli, world, *paths, code=None, extra=(), pre=()):
    out = cli.run(
        "--json",
        *pre,
        "--index",
        world["index"],
        "verify",
        *extra,
        *paths,
        code=code if code is not None else 0,
        env=world["verifier"],
    )
    return json.loads(out.stdout)["results"]


def test_a_published_image_is_authorised_with_its_evidence(cli, world, photos):
    (r,) = verify(cli, world, photos["coffee"])
    assert r["verdict"] == "authorised" and r["match"] == "exact-file" and r["distance"] == 0
    assert r["license_id"] == world["lic_a"] and r["twin_id"] == world["twin"] and r["tx"] == world["tx"]
    assert r["license"]["channels"] == ["social"] and r["license"]["territories"] == ["EU", "US"]
    assert r["published"] == {"channel": "social", "territory": "FR", "transforms": ["outfit"], "use": 1}
    assert r["block_time"] > 0 and r["model"].startswith("0x") and r["brand"].startswith("0x")


def test_human_output_names_verdict_match_and_evidence(cli, world, photos):
    out = cli.run("--index", world["index"], "verify", photos["rocket"], env=world["verifier"]).stdout
    assert "AUTHORISED (exact file)" in out and f"license {world['lic_a']}" in out and world["tx"] in out


def test_a_metadata_stripped_copy_has_the_same_pixels(cli, world):
    (r,) = verify(cli, world, world["copies"] / "coffee-metadata-stripped.jpg")
    assert (r["verdict"], r["match"]) == ("authorised", "same-pixels")


@pytest.mark.parametrize("copy", [n for n in imaging.NON_CROP if n != "metadata-stripped"] + ["crop-2.5%"])
def test_altered_copies_match_perceptually(cli, world, copy):
    (r,) = verify(cli, world, world["copies"] / f"coffee-{copy}.jpg")
    assert r["verdict"] == "authorised" and r["match"] == "perceptual", r
    assert r["distance"] <= 8 and r["license_id"] == world["lic_a"]


def test_a_photograph_never_registered_is_unknown(cli, world, photos):
    (r,) = verify(cli, world, photos["immunohistochemistry"], code=3)
    assert r["verdict"] == "unknown" and r["license_id"] is None


def test_a_twin_asset_is_recognised_but_not_authorised(cli, world):
    (r,) = verify(cli, world, world["capture"], code=3)
    assert r["verdict"] == "twin-asset" and r["twin_id"] == world["twin"] and r["match"] == "exact-file"


def test_publications_under_a_revoked_license_were_authorised_then(cli, world, photos):
    (r,) = verify(cli, world, photos["chelsea"], code=3)
    assert r["verdict"] == "authorised-then-ended" and r["license_id"] == world["lic_b"]
    assert any("revoked" in x for x in r["reasons"])


def test_a_copy_found_outside_the_license_is_not_authorised(cli, world, photos):
    (r,) = verify(cli, world, photos["coffee"], code=3, extra=["--channel", "print", "--territory", "JP"])
    assert r["verdict"] == "not-authorised"
    assert any("print" in x for x in r["reasons"]) and any("JP" in x for x in r["reasons"])
    (ok,) = verify(cli, world, photos["coffee"], extra=["--channel", "social", "--territory", "DE"])
    assert ok["verdict"] == "authorised"


def test_exit_code_is_3_unless_every_image_is_authorised(cli, world, photos):
    results = verify(cli, world, photos["coffee"], photos["immunohistochemistry"], code=3)
    assert [r["verdict"] for r in results] == ["authorised", "unknown"]


def test_judging_as_of_a_past_date(cli, world, photos):
    (r,) = verify(cli, world, photos["coffee"], code=3, extra=["--at", "2099-01-01"])
    assert r["verdict"] == "authorised-then-ended" and any("expired" in x for x in r["reasons"])


def test_live_rereads_the_license_from_the_chain(cli, world, photos):
    cli.run("license", "revoke", world["lic_a"], "--as", world["model"])
    (stale,) = verify(cli, world, photos["rocket"])  # the index was synced before the revocation
    assert stale["verdict"] == "authorised"
    (live,) = verify(
        cli,
        world,
        photos["rocket"],
        code=3,
        extra=["--live"],
        pre=["--network", world["rpc_url"], "--registry", world["registry"]],
    )
    assert live["verdict"] == "authorised-then-ended"


def test_verify_without_an_index_says_how_to_make_one(cli, tmp_path, photos):
    r = cli.run("--index", tmp_path / "none.db", "verify", photos["coffee"], code=1)
    assert "run `consentry sync` first" in r.stderr


def test_verify_does_not_import_web3(world, tmp_path):
    """The fast path for anyone checking an image: no chain client is loaded."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom consentry import cli\n"
        "try:\n    cli.cli.main(['--index', sys.argv[1], 'verify', sys.argv[2]])\n"
        "except SystemExit:\n    pass\n"
        "print('web3' in sys.modules, 'eth_account' in sys.modules)"
    )
    out = (
        subprocess.run(
            [sys.executable, "-c", code, str(world["index"]), str(world["capture"])], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out == "False False"
