"""The second-stage signature: 32 bytes as specified, copies confirm, derivatives and pHash forgeries
do not (real photographs; derivatives made with a seeded RNG)."""
import io

import numpy as np
import pytest
from PIL import Image

from consentry import hashing, imaging, signature


def _load(blob: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(blob))
    im.load()
    return im


def reference_signature(im: Image.Image) -> bytes:
    """The module docstring's prose spec, implemented independently (pixel loops over cell means)."""
    rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
    h, w = rgb.shape[:2]

    def grid(n):
        out = np.zeros((n, n, 3))
        for i in range(n):
            for j in range(n):
                cell = rgb[i * h // n:(i + 1) * h // n, j * w // n:(j + 1) * w // n]
                r, g, b = cell.reshape(-1, 3).mean(0)
                out[i, j] = (0.299 * r + 0.587 * g + 0.114 * b, -0.168736 * r - 0.331264 * g + 0.5 * b,
                             0.5 * r - 0.418688 * g - 0.081312 * b)
        return out

    m = grid(16)[..., 0]
    k, x = np.arange(16)[:, None], np.arange(16)[None, :]
    d = np.sqrt(2 / 16) * np.cos(np.pi * k * (2 * x + 1) / 32)
    d[0] /= np.sqrt(2)
    p = d[:8].T @ d[:8]
    s = np.round(m - p @ m @ p, 3)
    bits = [int(s[i, j] > 0) for i in range(16) for j in range(16) if (i + j) % 2 == 0]
    out = bytes(int("".join(map(str, bits[n:n + 8])), 2) for n in range(0, 128, 8))
    g4 = grid(4)
    y = g4[..., 0]
    lo, hi = y.min(), y.max()

    def code(v):
        v = round(v, 3)
        return 0 if v < -8 else 1 if v < 0 else 2 if v < 8 else 3

    for i in range(4):
        for j in range(4):
            level = 0 if hi == lo else min(15, int(np.floor(round(16 * (y[i, j] - lo) / (hi - lo), 3))))
            out += bytes([(level << 4) | (code(g4[i, j, 1]) << 2) | code(g4[i, j, 2])])
    return out


@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_signature_follows_the_written_spec(photos, name):
    im = Image.open(photos[name])
    sig = signature.signature_of(im)
    assert len(sig) == signature.SIGNATURE_BYTES == 32
    assert sig == reference_signature(im) == signature.signature_of(Image.open(photos[name]))


def test_fingerprint_imprint_and_query_carry_the_signature(photos):
    fp = hashing.fingerprint(photos["coffee"])
    assert fp.signature == signature.signature_of(Image.open(photos["coffee"]))
    q = hashing.query(photos["coffee"])
    assert isinstance(q.probe, signature.Probe)
    assert signature.confirm(q.probe, fp.signature).confirmed


COPIES = [*imaging.NON_CROP, "caption", "crop-2.5%", "crop-2.5%-uneven", "crop-5%", "crop-5%-uneven-a"]


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_copies_confirm(photos, name):
    sig = hashing.fingerprint(photos[name]).signature
    copies = imaging.copy_variants(photos[name])
    failed = {}
    for v in COPIES:
        r = signature.confirm(signature.prepare(_load(copies[v])), sig)
        if not r.confirmed:
            failed[v] = r.summary
    assert not failed


def test_a_mirrored_uneven_crop_is_found_and_described(photos):
    im = Image.open(photos["astronaut"])
    sig = signature.signature_of(im)
    q = imaging.crop_sides(im, (0.10, 0.025, 0.0, 0.0)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    r = signature.confirm(signature.prepare(q), sig)
    assert r.confirmed and r.mirrored, r.summary
    assert abs(r.crop[0] - 0.10) <= 0.02 and r.crop[2] <= 0.02 and "mirrored" in r.alignment


def test_greyscale_copies_compare_no_colour(photos):
    im = Image.open(photos["chelsea"])
    r = signature.confirm(signature.prepare(im.convert("L")), signature.signature_of(im))
    assert r.confirmed and not r.colour_compared


def test_derivatives_do_not_confirm(photos, tmp_path):
    """Seeded derivatives of three photos: outfit recoloured/darkened, a patch of another photo pasted,
    background replaced. The 32-byte check catches most, not all (see the module's LIMITS and
    scripts/bench_recall.py for rates over 56 photos); this pins the rate and the clear cases."""
    results = {}
    for name, donor in (("astronaut", "coffee"), ("coffee", "rocket"), ("chelsea", "astronaut")):
        sig = hashing.fingerprint(photos[name]).signature
        for v, blob in imaging.derivatives(photos[name], donor=photos[donor], seed=7).items():
            results[f"{name}/{v}"] = signature.confirm(signature.prepare(_load(blob)), sig)
    caught = [k for k, r in results.items() if not r.confirmed]
    assert len(caught) >= 0.75 * len(results), {k: r.summary for k, r in results.items() if r.confirmed}
    r = results["astronaut/recoloured-outfit-1"]
    assert not r.confirmed and r.cells_differing > 0 and r.regions and "differs in" in r.summary
    assert r.diff.shape == (16, 16)
    signature.explain_png(_load(imaging.derivatives(photos["astronaut"], donor=photos["coffee"], seed=7)
                                ["recoloured-outfit-1"]), r, tmp_path / "why.png")
    assert Image.open(tmp_path / "why.png").format == "PNG"


def test_a_phash_forgery_does_not_confirm(photos):
    target = Image.open(photos["astronaut"])
    target_phash = hashing.phash_of(target)
    forged = imaging.forge_phash(Image.open(photos["rocket"]), target_phash)
    assert hashing.hamming(hashing.phash_of(forged), target_phash) <= 2
    buf = io.BytesIO()
    forged.save(buf, "JPEG", quality=90)
    r = signature.confirm(signature.prepare(_load(buf.getvalue())), signature.signature_of(target))
    assert not r.confirmed


def test_bad_signatures_are_refused(photos):
    probe = signature.prepare(Image.open(photos["coffee"]))
    with pytest.raises(ValueError, match="32 bytes"):
        signature.confirm(probe, b"\0" * 31)
