"""The published image carries its disclosure: XMP/IPTC fields read back by Pillow, by exiftool and by
`disclosure.read`; a C2PA manifest signed under a test CA read back by c2pa-python (valid but untrusted,
trusted with the CA as anchor, invalid once tampered); a visible label in one corner; hostile files give
a warning or a one-line error, never a traceback, a hang or half a file."""

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import time
import zlib

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from consentry import disclosure as d
from consentry.errors import FileProblem, UsageError
from consentry.hashing import fingerprint

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
POINTER = d.Pointer(
    31337,
    REGISTRY,
    twin_id=1,
    license_id=7,
    terms_hash=bytes(range(32)),
    training="notAllowed",
    transforms=("outfit", "background"),
)
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
FORMATS = {"jpg": ("JPEG", {"quality": 90}), "png": ("PNG", {}), "webp": ("WEBP", {"quality": 90})}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """The astronaut photograph (512 px) as JPEG, PNG and WebP, and a coffee photo as PNG."""
    folder = tmp_path_factory.mktemp("photos")
    im = Image.fromarray(skdata.astronaut())
    out = {}
    for ext, (fmt, opts) in FORMATS.items():
        out[ext] = folder / f"look.{ext}"
        im.save(out[ext], fmt, **opts)
    return out


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return d.make_dev_ca(tmp_path_factory.mktemp("ca"), org="Maison Test")


@pytest.fixture(scope="module")
def signer(ca):
    return d.Signer.from_files(ca.chain, ca.key)


@pytest.fixture(scope="module")
def signed(photos, signer, tmp_path_factory):
    """Each photo embedded with XMP and a C2PA manifest (no label)."""
    folder = tmp_path_factory.mktemp("signed")
    return {
        ext: d.embed(src, folder / src.name, POINTER, signer=signer, verifier_url="https://verify.example/l/7")
        for ext, src in photos.items()
    }


def jpeg_with_xmp(tmp_path, xmp: bytes, name="hostile.jpg"):
    """A real JPEG carrying `xmp` as its XMP packet (Pillow writes the APP1 segment)."""
    p = tmp_path / name
    Image.fromarray(skdata.astronaut()[:128, :128]).save(p, "JPEG", xmp=xmp)
    return p


def png_with_itxt(tmp_path, payload: bytes, compressed=False, name="hostile.png"):
    """A real PNG with an XMP iTXt chunk holding `payload` (compressed or not), written by hand."""
    buf = io.BytesIO()
    Image.fromarray(skdata.astronaut()[:64, :64]).save(buf, "PNG")
    png = buf.getvalue()
    body = (
        d.PNG_XMP_KEY
        + b"\x00"
        + (b"\x01\x00" if compressed else b"\x00\x00")
        + b"\x00\x00"
        + (zlib.compress(payload, 9) if compressed else payload)
    )
    at = png.index(b"IDAT") - 4
    p = tmp_path / name
    p.write_bytes(png[:at] + d._png_chunk(b"iTXt", body) + png[at:])
    return p


# ---------------------------------------------------------------- XMP


@pytest.mark.parametrize("ext", list(FORMATS))
def test_xmp_round_trip_leaves_pixels_alone(photos, tmp_path, ext):
    out = d.embed(photos[ext], tmp_path / f"out.{ext}", POINTER, verifier_url="https://verify.example/l/7")
    assert out.applied == d.METADATA and out.names == ["metadata"] and out.format == FORMATS[ext][0]
    assert out.manifest_label is None and out.warnings == ()
    # no re-encoding: the same pixels (and the canonical pixel hash the index keys on)
    assert fingerprint(out.path).pixel_hash == fingerprint(photos[ext]).pixel_hash

    with Image.open(out.path) as im:  # Pillow reads our packet
        xmp = im.info["xmp"]
    xmp = xmp if isinstance(xmp, bytes) else xmp.encode()
    for needle in (
        TRAINED,
        "MR-LMR",
        POINTER.license_uri,
        "RegOrgId",
        "license/7",
        "twin/1",
        "https://verify.example/l/7",
        "DMI-PROHIBITED-AIMLTRAINING",
    ):
        assert needle.encode() in xmp

    f = d.read(out.path)
    assert f.digital_source_type == TRAINED
    assert f.model_release_status == "http://ns.useplus.org/ldf/vocab/MR-LMR"
    assert f.model_release_ids == (f"eip155:31337:{REGISTRY}/license/7",)
    assert f.registry_ids == ((f"eip155:31337:{REGISTRY}", "license/7"), (f"eip155:31337:{REGISTRY}", "twin/1"))
    assert f.web_statement == "https://verify.example/l/7"
    assert f.data_mining.endswith("DMI-PROHIBITED-AIMLTRAINING")
    assert f.disclosed_in_file and f.xmp_ai and not f.c2pa_ai and f.manifest is None
    assert f.carried == d.METADATA
    assert f.claims == (d.Claim(31337, REGISTRY, 7, 1, "xmp"),)
    assert f.warnings == ()
    assert json.loads(json.dumps(f.to_dict()))["disclosed_in_file"] is True


def test_composite_source_type_and_no_training_rule(photos, tmp_path):
    p = d.Pointer(1, REGISTRY, 3, 4, b"\x00" * 32)
    out = d.embed(photos["png"], tmp_path / "c.png", p, source_type="compositeWithTrainedAlgorithmicMedia")
    f = d.read(out.path)
    assert f.digital_source_type.endswith("/compositeWithTrainedAlgorithmicMedia") and f.disclosed_in_file
    assert f.data_mining is None and f.web_statement is None
    with pytest.raises(UsageError, match="digital source type"):
        d.embed(photos["png"], tmp_path / "x.png", p, source_type="digitalCapture")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.skipif(
    not shutil.which("exiftool") and not os.environ.get("CI"),
    reason="Debian's libimage-exiftool-perl is not installed (scripts/setup installs it as root)",
)
@pytest.mark.parametrize("ext", list(FORMATS))
def test_exiftool_reads_the_fields(signed, ext):
    """A tool nobody here wrote reads the XMP of the signed copy (written before the manifest)."""
    out = subprocess.run(
        ["exiftool", "-j", "-XMP:all", str(signed[ext].path)], capture_output=True, text=True, timeout=30, check=True
    )
    tags = json.loads(out.stdout)[0]
    assert tags["DigitalSourceType"] == TRAINED
    assert tags["ModelReleaseStatus"] in ("Limited or Incomplete Model Releases", "http://ns.useplus.org/ldf/vocab/MR-LMR")
    assert tags["ModelReleaseID"] == POINTER.license_uri
    assert tags["RegistryItemID"] == ["license/7", "twin/1"]
    assert tags["WebStatement"] == "https://verify.example/l/7"


# ---------------------------------------------------------------- C2PA


@pytest.mark.parametrize("ext", list(FORMATS))
def test_c2pa_round_trip_valid_untrusted_then_trusted(signed, ca, ext):
    out = signed[ext]
    assert out.applied == d.METADATA | d.C2PA and out.manifest_label.startswith("urn:c2pa:")
    f = d.read(out.path)
    m = f.manifest
    assert m.state == "valid-untrusted" and m.c2pa_state == "Valid" and m.failures == ("signingCredential.untrusted",)
    assert m.signer == "Maison Test C2PA signer" and m.signer_org == "Maison Test" and m.label == out.manifest_label
    assert m.digital_source_type == TRAINED and f.c2pa_ai and f.disclosed_in_file
    assert m.actions == ("c2pa.created", "c2pa.edited", "c2pa.edited") and m.transforms == ("outfit", "background")
    assert m.training == "notAllowed"
    assert m.consent == {
        "version": 1,
        "chain_id": 31337,
        "registry": REGISTRY,
        "registry_id": POINTER.registry_id,
        "twin_id": 1,
        "license_id": 7,
        "terms_hash": "0x" + bytes(range(32)).hex(),
        "training": "notAllowed",
        "transforms": ["outfit", "background"],
    }
    assert f.claims[0] == d.Claim(31337, REGISTRY, 7, 1, "c2pa") and f.claims[1].source == "xmp"
    # XMP was written before signing: it is still there and the manifest still validates
    assert f.digital_source_type == TRAINED and f.carried == d.METADATA | d.C2PA

    assert d.read(out.path, trust_anchors=ca.ca).manifest.state == "trusted"
    assert d.read(out.path, trust_anchors=ca.ca.read_text()).manifest.state == "trusted"


def test_another_ca_as_anchor_leaves_it_untrusted(signed, tmp_path):
    other = d.make_dev_ca(tmp_path, org="Someone Else")
    assert d.read(signed["jpg"].path, trust_anchors=other.ca).manifest.state == "valid-untrusted"


def test_c2pa_python_reads_our_manifest_directly(signed):
    """c2pa-python's Reader, without our code in between, sees every assertion we signed."""
    import c2pa

    with open(signed["jpg"].path, "rb") as f, c2pa.Reader("image/jpeg", f) as r:
        active = r.get_active_manifest()
        labels = {a["label"]: a["data"] for a in active["assertions"]}
        assert r.get_validation_state() == "Valid"
    assert labels["c2pa.actions.v2"]["actions"][0]["digitalSourceType"] == TRAINED
    assert labels["cawg.metadata"]["plus:ModelReleaseID"] == [POINTER.license_uri]
    assert labels["cawg.metadata"]["Iptc4xmpExt:RegistryId"][0] == {
        "Iptc4xmpExt:RegOrgId": POINTER.registry_id,
        "Iptc4xmpExt:RegItemId": "license/7",
    }
    assert labels["cawg.training-mining"]["entries"]["cawg.ai_training"] == {"use": "notAllowed"}
    assert labels[d.CONSENT_LABEL]["terms_hash"] == POINTER.terms_hash_hex


def test_reencoded_copy_loses_the_manifest(signed, tmp_path):
    with Image.open(signed["jpg"].path) as im:
        im.load()
        xmp = im.info["xmp"]
        im.save(tmp_path / "stripped.jpg", "JPEG", quality=75)
        im.save(tmp_path / "kept-xmp.jpg", "JPEG", quality=75, xmp=xmp)
    stripped = d.read(tmp_path / "stripped.jpg")
    assert stripped.manifest is None and not stripped.disclosed_in_file and stripped.claims == ()
    kept = d.read(tmp_path / "kept-xmp.jpg")
    assert kept.manifest is None and kept.disclosed_in_file and kept.carried == d.METADATA


@pytest.mark.parametrize("ext", ["jpg", "png"])
def test_bytes_changed_after_signing_read_invalid(signed, tmp_path, ext):
    raw = bytearray(signed[ext].path.read_bytes())
    k = int(len(raw) * 0.9)  # deep in the image data, after the manifest
    raw[k] ^= 0xFF
    raw[k + 1] ^= 0xFF
    (tmp_path / f"t.{ext}").write_bytes(bytes(raw))
    m = d.read(tmp_path / f"t.{ext}").manifest
    assert m.state == "invalid" and m.c2pa_state == "Invalid"
    assert any("mismatch" in code for code in m.failures)


def test_xmp_rewritten_after_signing_breaks_the_manifest(signed, tmp_path):
    """Why embed writes XMP first: a claim edited in the XMP afterwards (license 7 → 8) is caught."""
    raw = signed["jpg"].path.read_bytes()
    forged = raw.replace(b"/license/7<", b"/license/8<")
    assert forged != raw
    (tmp_path / "forged.jpg").write_bytes(forged)
    f = d.read(tmp_path / "forged.jpg")
    assert f.manifest.state == "invalid"
    assert {c.license_id for c in f.claims} == {7, 8}  # the manifest says 7, the edited XMP 8: both shown


def test_corrupted_or_truncated_manifest_is_a_state_not_a_crash(signed, tmp_path):
    raw = signed["jpg"].path.read_bytes()
    app11 = raw.index(b"\xff\xeb")
    broken = bytearray(raw)
    for k in range(app11 + 40, app11 + 400, 7):
        broken[k] ^= 0x5A
    (tmp_path / "broken.jpg").write_bytes(bytes(broken))
    m = d.read(tmp_path / "broken.jpg").manifest
    assert m is not None and m.state == "invalid"

    (tmp_path / "truncated.jpg").write_bytes(raw[: app11 + 300])  # cut inside the manifest: no image left
    f = d.read(tmp_path / "truncated.jpg")
    assert f.manifest.state == "invalid" and f.manifest.c2pa_state == "unreadable" and f.manifest.error
    assert any("damaged" in w for w in f.warnings)
    (tmp_path / "cut.jpg").write_bytes(raw[: len(raw) * 3 // 4])  # the manifest whole, the scan cut short
    f = d.read(tmp_path / "cut.jpg")
    assert f.manifest.state == "invalid" and f.disclosed_in_file


def test_re_embedding_a_signed_file_removes_the_stale_manifest(signed, tmp_path):
    out = d.embed(signed["png"].path, tmp_path / "again.png", POINTER)
    assert out.applied == d.METADATA and out.warnings and "removed" in out.warnings[0]
    f = d.read(out.path)
    assert f.manifest is None and f.disclosed_in_file


# ---------------------------------------------------------------- label


def test_label_changes_pixels_in_one_corner_only(photos, tmp_path, signer):
    out = d.embed(photos["png"], tmp_path / "label.png", POINTER, label=True, signer=signer)
    assert out.applied == d.METADATA | d.C2PA | d.LABEL and out.names == ["metadata", "c2pa", "label"]
    a = np.asarray(Image.open(photos["png"]).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(out.path).convert("RGB"), dtype=np.int16)
    changed = np.abs(a - b).max(axis=2) > 0
    ys, xs = np.nonzero(changed)
    h, w = changed.shape
    assert changed.sum() > 500  # visible
    assert xs.min() > w * 0.6 and ys.min() > h * 0.85  # bottom-right corner only
    assert d.read(out.path).manifest.state == "valid-untrusted"  # labelled, then XMP, then signed


def test_label_on_jpeg_keeps_the_rest_close(photos, tmp_path):
    out = d.embed(photos["jpg"], tmp_path / "label.jpg", POINTER, label=True)
    a = np.asarray(Image.open(photos["jpg"]).convert("L"), dtype=np.float64)
    b = np.asarray(Image.open(out.path).convert("L"), dtype=np.float64)
    h, w = a.shape
    corner = (slice(int(h * 0.85), h), slice(int(w * 0.6), w))
    outside = np.ones_like(a, dtype=bool)
    outside[corner] = False
    assert np.abs(a - b)[outside].mean() < 1.0  # re-encoded with the source's own tables
    assert np.abs(a - b)[corner].mean() > 10
    assert d.read(out.path).disclosed_in_file


# ---------------------------------------------------------------- hostile files


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b']><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol9;</x:xmpmeta>'
)
EXTERNAL = (
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="&e;"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


UTF16_DOCTYPE = ("\ufeff" + '<!DOCTYPE x [<!ENTITY n "3">]><x:xmpmeta xmlns:x="adobe:ns:meta/"/>').encode("utf-16-be")


@pytest.mark.parametrize(
    "xmp, warning",
    [
        (BILLION_LAUGHS, "DOCTYPE"),
        (EXTERNAL, "DOCTYPE"),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed>", "not well-formed"),
        (b"\xff\xfe garbage \x00\x01", "not UTF-8"),
        # found by review: a UTF-16 packet hid its DOCTYPE from a byte search (the entity then named the license)
        (UTF16_DOCTYPE, "not UTF-8"),
        (b'<?xml version="1.0" encoding="UTF-7"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/>', "not UTF-8"),
        (b"<a>" * 6000 + b"</a>" * 6000, None),  # deep nesting: parsed, nothing found
    ],
)
def test_hostile_xmp_is_ignored_with_a_warning(tmp_path, xmp, warning):
    p = jpeg_with_xmp(tmp_path, xmp)
    t = time.perf_counter()
    f = d.read(p)
    assert time.perf_counter() - t < 2
    assert f.digital_source_type is None and not f.disclosed_in_file and f.claims == ()
    if warning:
        assert any(warning in w for w in f.warnings)


def test_oversized_and_compressed_bomb_xmp_in_png(tmp_path):
    big = png_with_itxt(tmp_path, b"<x:xmpmeta>" + b" " * (10 << 20) + b"</x:xmpmeta>", name="big.png")
    f = d.read(big)
    assert not f.disclosed_in_file and any("ignored" in w and "bytes" in w for w in f.warnings)

    bomb = png_with_itxt(tmp_path, b"\x00" * (200 << 20), compressed=True, name="bomb.png")
    assert bomb.stat().st_size < 1 << 20
    t = time.perf_counter()
    f = d.read(bomb)
    assert time.perf_counter() - t < 5
    assert not f.disclosed_in_file and any("ignored" in w for w in f.warnings)

    deep = png_with_itxt(tmp_path, b"<a>" * 100_000 + b"</a>" * 100_000, name="deep.png")  # 700 KB, 100k levels
    f = d.read(deep)
    assert not f.disclosed_in_file


def test_a_legitimate_packet_from_another_tool_is_understood(tmp_path):
    """Attributes instead of elements, the short code instead of the URI (as some tools write it)."""
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        b'Iptc4xmpExt:DigitalSourceType="compositeWithTrainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>'
    )
    f = d.read(jpeg_with_xmp(tmp_path, xmp))
    assert f.disclosed_in_file and f.warnings == ()


def test_photo_from_a_camera_is_not_disclosed(tmp_path):
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    f = d.read(jpeg_with_xmp(tmp_path, xmp))
    assert f.digital_source_type.endswith("digitalCapture") and not f.disclosed_in_file


def test_not_an_image_missing_or_unsupported(tmp_path, photos):
    (tmp_path / "notes.jpg").write_text("just text\n")
    for p, msg in ((tmp_path / "notes.jpg", "not an image"), (tmp_path / "nope.jpg", "no such file"), (tmp_path, "directory")):
        with pytest.raises(FileProblem, match=msg):
            d.read(p)
        with pytest.raises(FileProblem, match=msg):
            d.embed(p, tmp_path / "out.jpg", POINTER)
    Image.open(photos["png"]).save(tmp_path / "x.gif")
    with pytest.raises(FileProblem, match="GIF"):
        d.embed(tmp_path / "x.gif", tmp_path / "x-out.gif", POINTER)
    assert any("GIF" in w for w in d.read(tmp_path / "x.gif").warnings)


def test_a_corrupt_source_writes_nothing(tmp_path, photos):
    dest = tmp_path / "out" / "look.jpg"
    dest.parent.mkdir()
    dest.write_bytes(b"previous version")
    raw = photos["jpg"].read_bytes()
    (tmp_path / "cut.jpg").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FileProblem, match="corrupt or truncated"):
        d.embed(tmp_path / "cut.jpg", dest, POINTER, label=True)
    assert dest.read_bytes() == b"previous version"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["look.jpg"]


# ---------------------------------------------------------------- signer and pointer


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "me")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=9))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "self.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "self.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
        )
    )
    return tmp_path / "self.pem", tmp_path / "self.key"


def test_signer_errors_are_one_line(tmp_path, ca):
    cert, enc_key = _self_signed(tmp_path)
    other = d.make_dev_ca(tmp_path / "other")
    (tmp_path / "junk.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    cases = [
        ((tmp_path / "missing.pem", ca.key), "not found"),
        ((tmp_path / "junk.pem", ca.key), "not a PEM certificate chain"),
        ((cert, ca.key), "self-signed"),
        ((ca.chain, other.key), "is not the key of the first certificate"),
        ((ca.chain, enc_key), "encrypted"),
        ((ca.chain, ca.chain), "not a PEM private key"),
    ]
    for (c, k), msg in cases:
        with pytest.raises(FileProblem, match=msg) as e:
            d.Signer.from_files(c, k)
        assert "\n" not in str(e.value)


def test_dev_ca_files(ca):
    assert ca.key.stat().st_mode & 0o777 == 0o600
    assert ca.chain.read_text().count("BEGIN CERTIFICATE") == 2 and ca.ca.read_text().count("BEGIN CERTIFICATE") == 1
    s = d.Signer.from_files(ca.chain, ca.key)
    assert s.alg == "es256" and "Maison Test C2PA signer" in s.subject and "test CA" in s.issuer
    assert "PRIVATE" not in repr(s) and "key_pem" not in repr(s)
    with pytest.raises(FileProblem, match="already exists"):
        d.make_dev_ca(ca.key.parent)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"registry": "0x1234"}, "registry address"),
        ({"chain_id": 0}, "chain id"),
        ({"license_id": -1}, "license id"),
        ({"terms_hash": b"short"}, "32 bytes"),
        ({"training": "maybe"}, "training rule"),
        ({"transforms": ("outfit", "tattoos")}, "tattoos"),
    ],
)
def test_pointer_validation(kwargs, msg):
    args = {"chain_id": 31337, "registry": REGISTRY, "twin_id": 1, "license_id": 7, "terms_hash": b"\x00" * 32}
    with pytest.raises(UsageError, match=msg):
        d.Pointer(**{**args, **kwargs})


def test_pointer_strings():
    assert POINTER.registry_id == f"eip155:31337:{REGISTRY}"
    assert POINTER.license_uri == f"eip155:31337:{REGISTRY}/license/7"
    assert d.disclosure_names(d.METADATA | d.LABEL) == ["metadata", "label"]
