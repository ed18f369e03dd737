"""`publish --out`: the published image carries its AI disclosure and its consent (XMP/IPTC, a C2PA manifest
signed with the brand's certificate, optionally a visible label), the registry records which disclosures it
carried, and `verify` reports both what the found file carries and what the record says. Real chain, real
c2pa-python read-back."""

import json

import pytest
from PIL import Image

from conftest import Cli, _names
from consentry import disclosure, imaging


@pytest.fixture(scope="module")
def brand_world(tmp_path_factory, photos, local_node):
    cli = Cli()
    d = tmp_path_factory.mktemp("disclosed")
    model, brand = f"pmodel{next(_names)}", f"pbrand{next(_names)}"
    model_addr = cli.json("account", "create", model, "--fund")["address"]
    cli.run("account", "create", brand, "--fund")
    capture = d / "capture.jpg"
    Image.open(photos["rocket"]).crop((0, 0, 240, 300)).save(capture, quality=90)
    twin = cli.json("twin", "register", capture, "--as", model)["twin_id"]
    lic = cli.json(
        "license",
        "grant",
        twin,
        "--to",
        brand,
        "--channels",
        "social",
        "--territories",
        "WW",
        "--transforms",
        "outfit,background",
        "--for",
        "30d",
        "--as",
        model,
    )["license_id"]
    ca = disclosure.make_dev_ca(d / "ca")
    verifier = {"CONSENTRY_HOME": str(d / "verifier")}
    cli.run("trust", "add", model_addr, "--name", "Ana", env=verifier)
    return {"cli": cli, "d": d, "brand": brand, "lic": lic, "twin": twin, "ca": ca, "verifier": verifier}


def look(photos, d, name, box):
    p = d / name
    Image.open(photos["chelsea"]).convert("RGB").crop(box).resize((720, 900)).save(p, quality=92)
    return p


def publish(w, *args, code=0):
    return w["cli"].json(
        "publish",
        *args,
        "--license",
        w["lic"],
        "--channel",
        "social",
        "--territory",
        "WW",
        "--transform",
        "outfit",
        "--as",
        w["brand"],
        code=code,
    )


def verify(w, *paths, code=0):
    index = w["d"] / "index.db"
    w["cli"].json("--index", index, "sync")
    out = w["cli"].run("--json", "--index", index, "verify", *paths, code=code, env=w["verifier"])
    return json.loads(out.stdout)["results"]


def test_a_disclosed_copy_is_written_signed_recorded_and_read_back(brand_world, photos):
    w = brand_world
    src = look(photos, w["d"], "look-a.jpg", (0, 0, 300, 300))
    out = w["d"] / "published"
    pub = publish(
        w,
        src,
        "--out",
        out,
        "--c2pa-cert",
        w["ca"].chain,
        "--c2pa-key",
        w["ca"].key,
        "--label",
        "--verifier-url",
        "https://verify.example/",
    )
    (img,) = pub["images"]
    assert img["file"] == str(out / "look-a.jpg") and img["disclosures"] == ["metadata", "c2pa", "label"]
    assert src.read_bytes() != (out / "look-a.jpg").read_bytes()  # the source is left as it was
    found = disclosure.read(out / "look-a.jpg", trust_anchors=w["ca"].ca)
    assert found.disclosed_in_file and found.manifest.state == "trusted"
    assert {c.license_id for c in found.claims} == {w["lic"]}
    (r,) = verify(w, out / "look-a.jpg")
    assert r["verdict"] == "authorised" and r["match"] == "exact-file"
    assert r["disclosed_in_file"] is True and r["disclosed_at_publication"] is True
    assert r["disclosures_at_publication"] == ["metadata", "c2pa", "label"]
    assert r["c2pa"]["state"] == "valid-untrusted" and r["c2pa"]["signer_org"]


def test_a_stripped_copy_was_still_disclosed_at_publication(brand_world, photos, tmp_path):
    w = brand_world
    src = look(photos, w["d"], "look-b.jpg", (100, 0, 400, 300))
    out = w["d"] / "published-b"
    publish(w, src, "--out", out)
    stripped = tmp_path / "reposted.jpg"
    stripped.write_bytes(imaging.variants(out / "look-b.jpg")["jpeg-q75"])  # a re-encode drops XMP and manifest
    (r,) = verify(w, stripped)
    assert r["verdict"] == "authorised" and r["match"] == "perceptual"
    assert r["disclosed_in_file"] is False and r["c2pa"] is None
    assert r["disclosed_at_publication"] is True and r["disclosures_at_publication"] == ["metadata"]


def test_files_recorded_as_they_are_record_what_they_carry(brand_world, photos, tmp_path):
    w = brand_world
    plain = look(photos, tmp_path, "plain.jpg", (0, 100, 300, 400))
    pub = publish(w, plain)
    assert pub["images"][0]["disclosures"] == []
    already = tmp_path / "already.jpg"  # a pipeline that wrote its own XMP disclosure
    pointer = disclosure.Pointer(1, "0x" + "11" * 20, w["twin"], w["lic"], b"\0" * 32)
    disclosure.embed(look(photos, tmp_path, "raw.jpg", (50, 50, 350, 350)), already, pointer)
    pub = publish(w, already, "--no-embed")
    assert pub["images"][0]["disclosures"] == ["metadata"] and pub["images"][0]["file"] == str(already)


def test_a_bad_certificate_fails_before_any_gas_and_writes_nothing(brand_world, photos, tmp_path):
    w = brand_world
    src = look(photos, tmp_path, "look-c.jpg", (0, 0, 200, 250))
    out = tmp_path / "out"
    bad = tmp_path / "chain.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    err = publish(w, src, "--out", out, "--c2pa-cert", bad, "--c2pa-key", w["ca"].key, code=1)
    assert err["error_code"] == "bad_file" and "certificate" in err["error"].lower()
    assert not out.exists() or not any(out.iterdir())
    err = publish(w, src, "--c2pa-cert", w["ca"].chain, code=2)
    assert "go together" in err["error"]
    err = publish(w, src, "--label", code=2)
    assert "--out" in err["error"]


def test_a_refused_publication_leaves_no_disclosed_copies(brand_world, photos, tmp_path):
    w = brand_world
    src = look(photos, tmp_path, "look-d.jpg", (20, 20, 320, 320))
    out = tmp_path / "out"
    err = w["cli"].json(
        "publish", src, "--out", out, "--license", w["lic"], "--channel", "print", "--territory", "FR", "--as", w["brand"], code=1
    )
    assert err["error_code"] == "ChannelNotAllowed" and "print" in err["error"]
    assert not out.exists()  # the folder it made is removed with the copies


def test_a_file_claiming_a_record_its_pixels_do_not_match_is_never_authorised_by_the_claim(brand_world, photos, tmp_path):
    """Copy a disclosed file's XMP pointer onto another picture: the claim names a real license, but the
    hashes match nothing, so the verdict is unknown and the forged claim is reported."""
    w = brand_world
    src = look(photos, w["d"], "look-e.jpg", (60, 0, 360, 300))
    publish(w, src, "--out", w["d"] / "published-e")
    genuine = disclosure.read(w["d"] / "published-e" / "look-e.jpg")
    (claim,) = [c for c in genuine.claims if c.source == "xmp"][:1]
    other = look(photos, tmp_path, "other.jpg", (0, 0, 150, 150))  # a picture never published
    forged = tmp_path / "forged-claim.jpg"
    pointer = disclosure.Pointer(claim.chain_id, claim.registry, w["twin"], claim.license_id, b"\0" * 32)
    disclosure.embed(other, forged, pointer)
    (r,) = verify(w, forged, code=3)
    assert r["verdict"] == "unknown" and r["forged_claim"] is True and r["disclosed_in_file"] is True
    assert any("no record matches its hashes" in x for x in r["reasons"])
