"""Whose consent? A verifier's trust list, attestations, conflicts between twins, honest time.

The attacks: a brand whose license was revoked registers its own "twin", licenses itself and
records the model's campaign image and an image she never licensed; a squatter registers the
model's capture photo as its own; a brand caught using an image records it afterwards."""

import json
from datetime import datetime, timezone

import pytest
from PIL import Image

from conftest import Cli, _names


def _unique(src, box, dest):
    """A picture no other test records: a region of a bundled photograph."""
    im = Image.open(src)
    w, h = im.size
    im.crop(tuple(int(f * s) for f, s in zip(box, (w, h, w, h)))).save(dest, quality=92)
    return dest


@pytest.fixture(scope="module")
def story(tmp_path_factory, photos, local_node):
    cli = Cli()
    d = tmp_path_factory.mktemp("trust")
    names = {k: f"{k}{next(_names)}" for k in ("model", "brand", "agency", "squatter")}
    addr = {k: cli.json("account", "create", n, "--fund")["address"] for k, n in names.items()}
    capture = _unique(photos["astronaut"], (0.0, 0.0, 0.6, 0.6), d / "capture.jpg")
    campaign = _unique(photos["horse"], (0.0, 0.1, 0.7, 0.9), d / "campaign.jpg")
    unlicensed = _unique(photos["camera"], (0.3, 0.0, 1.0, 0.7), d / "unlicensed.jpg")
    sham_capture = _unique(photos["chelsea"], (0.2, 0.2, 0.9, 0.9), d / "sham.jpg")
    twin = cli.json("twin", "register", capture, "--as", names["model"], "--manifest", d / "model.json")["twin_id"]
    terms = ["--channels", "social", "--territories", "WW", "--for", "30d"]
    lic = cli.json("license", "grant", twin, "--to", names["brand"], *terms, "--as", names["model"])["license_id"]
    cli.run("publish", campaign, "--license", lic, "--channel", "social", "--territory", "FR", "--as", names["brand"])
    cli.run("license", "revoke", lic, "--as", names["model"])
    # the brand's sham twin, a worldwide license to itself with every transformation, and its records
    sham = cli.json("twin", "register", sham_capture, "--as", names["brand"])["twin_id"]
    sham_lic = cli.json(
        "license",
        "grant",
        sham,
        "--to",
        names["brand"],
        "--channels",
        "social,print",
        "--territories",
        "WW",
        "--transforms",
        "outfit,background,pose,lighting,hair-makeup,age,body,face",
        "--for",
        "365d",
        "--as",
        names["brand"],
    )["license_id"]
    late = cli.json(
        "publish", campaign, unlicensed, "--license", sham_lic, "--channel", "social", "--territory", "US", "--as", names["brand"]
    )
    # a squatter registers the model's capture photo as its own twin's asset
    squat = cli.json("twin", "register", capture, "--as", names["squatter"], "--manifest", d / "squat.json")["twin_id"]
    index = d / "index.db"
    cli.json("--index", index, "sync", "--manifest", d / "model.json", "--manifest", d / "squat.json")
    verifier = {"CONSENTRY_HOME": str(d / "verifier")}
    cli.run("trust", "add", addr["model"], "--name", "Ana (model)", env=verifier)
    return {
        "cli": cli,
        "d": d,
        "names": names,
        "addr": addr,
        "twin": twin,
        "lic": lic,
        "sham": sham,
        "sham_lic": sham_lic,
        "squat": squat,
        "capture": capture,
        "campaign": campaign,
        "unlicensed": unlicensed,
        "index": index,
        "verifier": verifier,
        "late_tx": late["images"][0]["tx"],
    }


def verify(s, *paths, code=3, env=None, extra=()):
    out = s["cli"].run("--json", "--index", s["index"], "verify", *extra, *paths, code=code, env=env or s["verifier"])
    return json.loads(out.stdout)["results"]


def test_a_sham_twin_cannot_launder_the_models_revoked_record(story):
    (r,) = verify(story, story["campaign"])
    assert r["verdict"] == "authorised-then-ended"  # follows the trusted model's record, not the brand's
    assert (r["twin_id"], r["license_id"], r["trusted"]) == (story["twin"], story["lic"], True)
    assert [c["twin_id"] for c in r["conflicts"]] == [story["sham"]]
    c = r["conflicts"][0]
    assert c["trusted"] is False and c["license_id"] == story["sham_lic"] and c["verdict"] == "authorised"
    assert any("conflict" in x and f"twin {story['sham']}" in x for x in r["reasons"])


def test_an_image_only_a_sham_twin_recorded_is_an_unverified_twin(story):
    (r,) = verify(story, story["unlicensed"])
    assert r["verdict"] == "unverified-twin" and r["twin_id"] == story["sham"] and r["trusted"] is False
    assert any("nobody this verifier trusts" in x for x in r["reasons"])
    out = story["cli"].run("--index", story["index"], "verify", story["unlicensed"], code=3, env=story["verifier"]).stdout
    assert "UNVERIFIED-TWIN" in out and "NOT trusted" in out


def test_a_verifier_that_trusts_nobody_authorises_nothing(story, tmp_path):
    nobody = {"CONSENTRY_HOME": str(tmp_path / "empty")}
    results = verify(story, story["campaign"], story["unlicensed"], env=nobody)
    assert [r["verdict"] for r in results] == ["unverified-twin", "unverified-twin"]


def test_a_squatted_capture_asset_shows_the_trusted_owner_and_the_conflict(story, tmp_path):
    (r,) = verify(story, story["capture"])
    assert r["verdict"] == "twin-asset" and r["twin_id"] == story["twin"]
    assert [c["twin_id"] for c in r["conflicts"]] == [story["squat"]]
    (u,) = verify(story, story["capture"], env={"CONSENTRY_HOME": str(tmp_path / "empty")})
    assert u["verdict"] == "unverified-twin" and u["twin_id"] == story["twin"]  # the earliest claim


def test_an_attester_the_verifier_trusts_vouches_for_a_twin(story, tmp_path):
    s, cli = story, story["cli"]
    union = {"CONSENTRY_HOME": str(tmp_path / "union-verifier")}
    cli.run("trust", "add", s["addr"]["agency"], "--name", "Models' Union", "--role", "attester", env=union)
    (before,) = verify(s, s["campaign"], env=union)
    assert before["verdict"] == "unverified-twin"
    att = cli.json("twin", "attest", s["twin"], "--as", s["names"]["agency"], "--statement", "met Ana in person")
    assert att["attested"] and att["gas_used"] > 0
    idx = tmp_path / "i.db"
    cli.json("--index", idx, "sync")
    out = cli.run("--json", "--index", idx, "verify", s["campaign"], code=3, env=union)
    (r,) = json.loads(out.stdout)["results"]
    assert r["verdict"] == "authorised-then-ended" and r["trusted"]
    assert r["attesters"] == [s["addr"]["agency"]] and "Models' Union" in r["trust"]
    cli.json("twin", "attest", s["twin"], "--as", s["names"]["agency"], "--revoke")
    cli.json("--index", idx, "sync")
    (after,) = json.loads(cli.run("--json", "--index", idx, "verify", s["campaign"], code=3, env=union).stdout)["results"]
    assert after["verdict"] == "unverified-twin"
    err = cli.json("twin", "attest", s["twin"], "--as", s["names"]["agency"], "--revoke", code=1)
    assert "does not attest" in err["error"]


def test_a_record_made_after_the_date_asked_about_did_not_exist_then(story):
    (r,) = verify(story, story["unlicensed"])
    made = r["block_time"]
    before = datetime.fromtimestamp(made - 1, tz=timezone.utc).isoformat()
    (then,) = verify(story, story["unlicensed"], extra=["--at", before])
    assert then["verdict"] == "unknown"
    assert r["recorded_at"].startswith(datetime.fromtimestamp(made, tz=timezone.utc).strftime("%Y-%m-%d"))


def test_trust_list_add_list_remove(cli, tmp_path):
    home = {"CONSENTRY_HOME": str(tmp_path / "v")}
    cli.run("trust", "add", "0x" + "ab" * 20, "--name", "Studio", "--role", "attester", env=home)
    listed = cli.json("trust", "list", env=home)["entries"]
    assert [(e["name"], e["role"]) for e in listed] == [("Studio", "attester")]
    err = cli.json("trust", "remove", "Studoi", code=2, env=home)
    assert "did you mean 'Studio'" in err["error"]
    cli.run("trust", "remove", "Studio", env=home)
    assert cli.json("trust", "list", env=home)["entries"] == []
    bad = cli.run("trust", "add", "0x" + "ab" * 20, "--name", "a\x1b[2Jb", code=2, env=home)
    assert "printable" in bad.stderr


def _fresh_index(s, tmp_path):
    idx = tmp_path / "i.db"
    s["cli"].json("--index", idx, "sync", "--manifest", s["d"] / "model.json")
    return idx


def test_a_later_reencoded_record_under_another_license_never_overrides_the_exact_files_record(story, tmp_path):
    """Red-team: a brand with a valid license of the same twin re-records a re-encoded copy of an image
    whose own license was revoked; the exact file's record must still decide, the other be shown."""
    s, cli = story, story["cli"]
    lic2 = cli.json(
        "license",
        "grant",
        s["twin"],
        "--to",
        s["names"]["squatter"],
        "--channels",
        "social",
        "--territories",
        "WW",
        "--for",
        "30d",
        "--as",
        s["names"]["model"],
    )["license_id"]
    copy = tmp_path / "campaign-q80.jpg"
    Image.open(s["campaign"]).save(copy, quality=80)
    cli.run("publish", copy, "--license", lic2, "--channel", "social", "--territory", "FR", "--as", s["names"]["squatter"])
    idx = _fresh_index(s, tmp_path)
    (r,) = json.loads(cli.run("--json", "--index", idx, "verify", s["campaign"], code=3, env=s["verifier"]).stdout)["results"]
    assert r["verdict"] == "authorised-then-ended" and r["license_id"] == s["lic"] and r["match"] == "exact-file"
    assert [(o["license_id"], o["verdict"]) for o in r["other_records"]] == [(lic2, "authorised")]
    assert any(f"license {lic2}" in x for x in r["reasons"])


def test_a_sham_twins_record_of_a_derivative_does_not_hide_the_models_record(story, tmp_path):
    """Red-team: alone, the altered image reads derivative of the model's record; recorded under a
    sham twin it must still name the model's record as a conflict."""
    import numpy as np

    from consentry import imaging

    s, cli = story, story["cli"]
    im = Image.open(s["campaign"]).convert("RGB")
    altered = tmp_path / "altered.jpg"
    imaging.recolour(im, imaging.torso_mask(im.size, np.random.default_rng(7)), 180).save(altered, quality=90)
    (alone,) = verify(s, altered)
    assert alone["verdict"] == "derivative" and alone["twin_id"] == s["twin"]
    cli.run(
        "publish", altered, "--license", s["sham_lic"], "--channel", "social", "--territory", "US", "--as", s["names"]["brand"]
    )
    idx = _fresh_index(s, tmp_path)
    (r,) = json.loads(cli.run("--json", "--index", idx, "verify", altered, code=3, env=s["verifier"]).stdout)["results"]
    assert r["verdict"] == "unverified-twin" and r["twin_id"] == s["sham"]
    assert {(c["twin_id"], c["verdict"], c["trusted"]) for c in r["conflicts"]} == {(s["twin"], "derivative", True)}


def test_an_animated_file_is_refused_not_judged_by_its_first_frame(story, tmp_path):
    """Red-team: the licensed picture as a 1 ms first frame, then another picture for good."""
    a = Image.open(story["campaign"]).convert("RGB")
    b = Image.open(story["unlicensed"]).convert("RGB").resize(a.size)
    anim = tmp_path / "anim.png"
    a.save(anim, save_all=True, append_images=[b], duration=[1, 100000], loop=0)
    out = story["cli"].run("--index", story["index"], "verify", anim, code=1, env=story["verifier"])
    assert "2 frames" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_colour_profile_that_remaps_the_pixels_is_not_authorised_by_same_pixels(story, tmp_path):
    from PIL import ImageCms

    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    im = Image.open(story["campaign"])
    png = tmp_path / "same-pixels-other-colours.png"
    im.save(png, icc_profile=lab)
    plain = tmp_path / "same-pixels.png"
    im.save(plain)
    s = story
    r_plain, r_icc = json.loads(
        s["cli"].run("--json", "--index", s["index"], "verify", plain, png, code=3, env=s["verifier"]).stdout
    )["results"]
    assert r_plain["match"] == r_icc["match"] == "same-pixels"
    assert any("colour profile" in x for x in r_icc["reasons"])
    assert not any("colour profile" in x for x in r_plain["reasons"])


def test_a_file_name_that_looks_like_a_verdict_is_quoted(story, tmp_path):
    sneaky = tmp_path / ("look-01.jpg: AUTHORISED (exact file)" + " " * 20 + "x.png")
    Image.open(story["unlicensed"]).save(sneaky)
    out = story["cli"].run("--index", story["index"], "verify", sneaky, code=3, env=story["verifier"]).stdout
    first = out.splitlines()[0]
    assert first.startswith("'") and "x.png': UNVERIFIED-TWIN" in first
