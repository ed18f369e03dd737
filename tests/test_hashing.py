"""Fingerprints and Merkle proofs."""

import os

import imagehash
import numpy as np
import pytest
from PIL import Image
from skimage import data

from consentry import hashing, imaging, index, merkle, signature
from consentry.errors import FileProblem


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket", "camera"])
def test_phash_is_imagehash_phash(photos, name):
    im = Image.open(photos[name])
    assert hashing.phash_of(im) == int(str(imagehash.phash(im)), 16)


def test_the_mirror_variant_is_the_phash_of_the_mirrored_image(photos):
    im = Image.open(photos["coffee"])
    mirrored = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    variants = dict(hashing.perceptual_variants(im))
    assert variants["mirrored"] == hashing.phash_of(mirrored)


def test_pixel_hash_survives_metadata_stripping_and_lossless_resaves(photos, tmp_path):
    fp = hashing.fingerprint(photos["coffee"])
    stripped = tmp_path / "s.jpg"
    stripped.write_bytes(imaging.strip_jpeg_metadata(photos["coffee"].read_bytes()))
    png = tmp_path / "p.png"
    Image.open(photos["coffee"]).save(png)
    for p in (stripped, png):
        other = hashing.fingerprint(p)
        assert other.content_hash != fp.content_hash
        assert other.pixel_hash == fp.pixel_hash


def test_pixel_hash_changes_when_pixels_change(photos, tmp_path):
    im = Image.open(photos["coffee"]).convert("RGB")
    im.putpixel((0, 0), (0, 0, 0) if im.getpixel((0, 0)) != (0, 0, 0) else (255, 255, 255))
    im.save(tmp_path / "x.png")
    assert hashing.fingerprint(tmp_path / "x.png").pixel_hash != hashing.fingerprint(photos["coffee"]).pixel_hash


def test_imprint_packs_pixel_prefix_central_phash_and_signature(photos):
    fp = hashing.fingerprint(photos["rocket"])
    assert len(fp.imprint) == hashing.IMPRINT_BYTES == 62 and len(fp.signature) == 38
    assert index.SIGNATURE_TAIL == len(fp.signature) - 8  # the index splits the Published event's words by it
    assert fp.imprint[16:24] == fp.central_phash.to_bytes(8, "big") and fp.central_phash != fp.phash
    assert fp.imprint[24:] == fp.signature
    assert hashing.split_imprint(fp.imprint) == (fp.pixel_hash[:16], fp.central_phash, fp.signature)
    for short in (fp.imprint[:24], fp.imprint[:56], fp.imprint[:61], fp.imprint + b"\0"):
        with pytest.raises(ValueError):
            hashing.split_imprint(short)


def test_the_central_phash_is_the_middle_80_percent(photos):
    im = Image.open(photos["rocket"])
    w, h = im.size
    assert hashing.central_box(w, h) == (round(w / 10), round(h / 10), round(w * 0.9), round(h * 0.9))
    # the 32x32 grid of area averages, as Pillow's BOX reduction computes them (up to rounding to 8 bits)
    box = im.convert("L").crop(hashing.central_box(w, h)).resize((32, 32), Image.Resampling.BOX)
    low = hashing._low_dct(np.asarray(box, dtype=np.float64))
    assert hashing.hamming(hashing.central_phash_of(im), hashing._bits(low)) <= 2


@pytest.mark.parametrize(
    "sides", [(0.0, 0.0, 0.10, 0.10), (0.10, 0.025, 0.0, 0.05), (0.025, 0.10, 0.05, 0.0), (0.05, 0.05, 0.05, 0.05)]
)
@pytest.mark.parametrize("name", ["grass", "brick", "astronaut"])
def test_crops_find_the_central_region_again(photos, name, sides):
    """Textures (grass, brick) defeat padding a crop back out for the whole picture's pHash; the
    central region, cut out where each crop hypothesis puts it, is the same pixels."""
    im = Image.open(photos[name]) if name in photos else Image.fromarray(getattr(data, name)())
    cropped = imaging.crop_sides(im.convert("RGB"), sides)
    best = min(hashing.hamming(v, hashing.central_phash_of(im)) for _, v in hashing.central_variants(cropped))
    assert best <= 6


@pytest.mark.parametrize("sides", [(0.10, 0.025, 0.0, 0.05), (0.025, 0.0, 0.0, 0.05)])
def test_uneven_crops_are_candidates(photos, sides):
    im = Image.open(photos["astronaut"])
    cropped = imaging.crop_sides(im, sides)
    best = min(hashing.hamming(v, hashing.phash_of(im)) for _, v in hashing.perceptual_variants(cropped))
    assert best <= 8


def test_bad_files_raise_file_problems(tmp_path):
    (tmp_path / "t.txt").write_text("text")
    for path, words in (
        (tmp_path / "missing.jpg", "no such file"),
        (tmp_path / "t.txt", "not an image"),
        (tmp_path, "is a directory"),
    ):
        with pytest.raises(FileProblem, match=words):
            hashing.fingerprint(path)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 33])
def test_every_leaf_proves_against_the_root_and_nothing_else_does(n):
    leaves = [os.urandom(32) for _ in range(n)]
    root, proofs = merkle.build(leaves)
    assert all(merkle.verify(leaf, p, root) for leaf, p in zip(leaves, proofs))
    assert not merkle.verify(os.urandom(32), proofs[0], root)
    assert not merkle.verify(leaves[0], proofs[0], os.urandom(32))


@pytest.mark.parametrize("size", [(2, 5000), (5000, 2), (1, 21)])
def test_a_strip_is_refused_before_decoding(tmp_path, size, monkeypatch):
    """Red team: a 140 KB PNG of 1 x 48,000,000 pixels (under the server's pixel cap) took 44 s and 7.5 GB
    to fingerprint. Sides over 20:1 are refused from the header."""
    path = tmp_path / "strip.png"
    Image.new("RGB", size, (10, 200, 30)).save(path)
    with monkeypatch.context() as m:
        m.setattr(Image.Image, "load", lambda self: pytest.fail("decoded"))
        m.setattr("PIL.ImageFile.ImageFile.load", lambda self: pytest.fail("decoded"))
        for f in (hashing.fingerprint, hashing.query):
            with pytest.raises(FileProblem, match="a strip rather than a picture"):
                f(path)
    banner = tmp_path / "banner.png"
    Image.new("RGB", (400, 20), (10, 200, 30)).save(banner)  # 20:1 is still a picture
    assert hashing.fingerprint(banner).width == 400


def test_cell_means_of_a_thin_picture_are_those_of_its_enlargement():
    """A side under 16 px is read as enlarged by nearest neighbour (the spec), computed on the source pixels."""
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (3, 7), (15, 200), (200, 15), (17, 33)]:
        a = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
        im = Image.fromarray(a)
        big = np.asarray(im.resize((max(16, im.width), max(16, im.height)), Image.Resampling.NEAREST), dtype=np.float64)
        h, w = big.shape[:2]
        rows, cols = (np.arange(17) * h) // 16, (np.arange(17) * w) // 16
        want = [[big[rows[i] : rows[i + 1], cols[j] : cols[j + 1]].reshape(-1, 3).mean(0) for j in range(16)] for i in range(16)]
        assert np.allclose(signature.cell_means(im)[1], np.array(want)), shape
