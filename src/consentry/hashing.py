"""Image fingerprints: the file's sha256, a canonical pixel sha256, two 64-bit perceptual hashes (of the
whole picture, for twin assets; of its central region, recorded for publications) and a 38-byte
second-stage signature (`signature.py`).

- content hash: sha256 of the file's bytes (survives nothing, proves the exact file);
- pixel hash: sha256 over a fixed header, width, height and the RGBA bytes as decoded with fixed
  settings, no EXIF rotation (survives metadata stripping and lossless re-saves);
- pHash: the DCT perceptual hash (imagehash.phash's algorithm: 32x32 greyscale, 2-D DCT-II, the
  8x8 low frequencies against their median), computed with numpy alone. Its mirror image comes for
  free: flipping an image left-right negates the DCT's odd columns.
- central pHash: the same hash of the central region, pixel box (round(W/10), round(H/10),
  round(9W/10), round(9H/10)) of the image as published. A copy cropped by up to 10 % on any side
  still shows all of that region, so a query finds it again *exactly* by cutting out where the region
  lies under each crop hypothesis (`central_variants`), where padding a crop back out for the whole
  picture's pHash can only approximate the missing edges.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import FileProblem

from . import signature as _signature

PIXEL_HASH_HEADER = b"consentry-pixels-v1\x00RGBA"
IMPRINT_BYTES = 16 + 8 + _signature.SIGNATURE_BYTES  # 62: pixel-hash prefix, central pHash, signature (38)
CENTRAL_MARGIN = 0.1  # the central region leaves this fraction of each side out
MAX_ASPECT = 20  # longer side / shorter side: a thinner 'image' costs seconds and gigabytes to hash, and is no picture
NO_SIGNATURE = bytes(_signature.SIGNATURE_BYTES)
HASH_SIZE = 8
IMG_SIZE = 32
# Crop hypotheses tried by `perceptual_variants`: fraction cut from each edge, undone by padding.
CROP_FRACTIONS = (0.0125, 0.025, 0.0375, 0.05)


@dataclass(frozen=True)
class Fingerprint:
    content_hash: bytes  # 32
    pixel_hash: bytes  # 32
    phash: int  # unsigned 64-bit
    width: int
    height: int
    signature: bytes = NO_SIGNATURE  # 38, `signature.signature_of`
    central_phash: int = 0  # unsigned 64-bit, `central_phash_of`

    @property
    def imprint(self) -> bytes:
        """The 62 bytes recorded on chain: pixel-hash prefix (16), central pHash (8), signature (38)."""
        return imprint(self.pixel_hash, self.central_phash, self.signature)


def imprint(pixel_hash: bytes, central_phash: int, signature: bytes = NO_SIGNATURE) -> bytes:
    """pixel_hash[0:16] ‖ central pHash (8, big-endian) ‖ signature (38): the 62-byte imprint. The
    registry's `Published` event carries bytes [0:32) as `imprint` and [32:62), zero-padded, as `signature`."""
    if len(signature) != _signature.SIGNATURE_BYTES:
        raise ValueError(f"a signature is {_signature.SIGNATURE_BYTES} bytes, not {len(signature)}")
    return pixel_hash[:16] + central_phash.to_bytes(8, "big") + signature


def split_imprint(data: bytes) -> tuple[bytes, int, bytes]:
    """(pixel-hash prefix (16), central pHash, signature (38)) of a 62-byte imprint."""
    if len(data) != IMPRINT_BYTES:
        raise ValueError(f"an imprint is {IMPRINT_BYTES} bytes, not {len(data)}")
    return data[:16], int.from_bytes(data[16:24], "big"), data[24:IMPRINT_BYTES]


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    n = IMG_SIZE
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * x + 1) / (2 * n))


def _bits(low: np.ndarray) -> int:
    """Each coefficient above the median (of all 64) is a 1, row-major, first coefficient the MSB."""
    flat = low.ravel()
    s = np.sort(flat)
    median = (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2  # np.median's value, without its overhead
    return int.from_bytes(np.packbits(flat > median).tobytes(), "big")


def _low_dct(grey32: np.ndarray) -> np.ndarray:
    c = _dct_matrix()
    return (c @ grey32 @ c.T)[:HASH_SIZE, :HASH_SIZE]


def _grey32(im) -> np.ndarray:
    from PIL import Image

    return np.asarray(im.convert("L").resize((IMG_SIZE, IMG_SIZE), Image.Resampling.LANCZOS), dtype=np.float64)


def phash_of(im) -> int:
    return _bits(_low_dct(_grey32(im)))


def central_box(width: int, height: int) -> tuple[int, int, int, int]:
    m = CENTRAL_MARGIN
    return round(width * m), round(height * m), round(width * (1 - m)), round(height * (1 - m))


def _sat(grey) -> np.ndarray:
    """Summed-area table of a greyscale image, (H+1) x (W+1): S[y, x] = sum of pixels above and left of (x, y)."""
    arr = np.asarray(grey, dtype=np.float64)
    t = np.zeros((arr.shape[0] + 1, arr.shape[1] + 1))
    t[1:, 1:] = arr.cumsum(0).cumsum(1)
    return t


def _area_grids(sat: np.ndarray, boxes: np.ndarray, n: int = IMG_SIZE) -> np.ndarray:
    """(K, n, n) area averages over an n x n grid of each box (x0, y0, x1, y1), in pixels, fractional edges
    allowed: the image taken as constant over each pixel, whose integral the bilinearly interpolated table
    gives exactly."""
    f = np.arange(n + 1) / n
    xs = boxes[:, :1] + (boxes[:, 2:3] - boxes[:, :1]) * f  # (K, n+1)
    ys = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * f
    h, w = sat.shape[0] - 1, sat.shape[1] - 1
    xs, ys = np.clip(xs, 0, w), np.clip(ys, 0, h)
    xi = np.minimum(np.floor(xs).astype(np.int64), w - 1)[:, None, :]
    yi = np.minimum(np.floor(ys).astype(np.int64), h - 1)[:, :, None]
    fx, fy = (xs[:, None, :] - xi), (ys[:, :, None] - yi)
    s = (sat[yi, xi] * (1 - fx) + sat[yi, xi + 1] * fx) * (1 - fy) + (
        sat[yi + 1, xi] * (1 - fx) + sat[yi + 1, xi + 1] * fx
    ) * fy  # (K, n+1 ys, n+1 xs)
    sums = s[:, 1:, 1:] - s[:, :-1, 1:] - s[:, 1:, :-1] + s[:, :-1, :-1]
    area = np.diff(ys, axis=1)[:, :, None] * np.diff(xs, axis=1)[:, None, :]
    return sums / np.maximum(area, 1e-12)


def _grid_phashes(grids: np.ndarray) -> list[int]:
    c = _dct_matrix()[:HASH_SIZE]
    lows = np.einsum("ui,kij,vj->kuv", c, grids, c)
    return [_bits(low) for low in lows]


def central_phash_of(im) -> int:
    """The central pHash: the DCT pHash (as `phash_of`, low 8x8 against their median) of the 32x32 grid of
    area averages of the greyscale image (Pillow's convert("L")) over `central_box`."""
    box = np.array([central_box(im.width, im.height)], dtype=np.float64)
    return _grid_phashes(_area_grids(_sat(im.convert("L")), box))[0]


def mirror_phash_from_low(low: np.ndarray) -> int:
    signs = np.where(np.arange(HASH_SIZE) % 2 == 1, -1.0, 1.0)
    return _bits(low * signs[None, :])


def _open(path: Path, data: bytes):
    """Decode the bytes read from `path` (read once: hashed and decoded from memory)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(io.BytesIO(data))
        if getattr(im, "n_frames", 1) > 1:  # only frame 0 would be hashed while viewers show them all
            raise FileProblem(
                f"{path} has {im.n_frames} frames (an animation or a multi-page file): Consentry "
                "fingerprints single-frame images; extract the frames and check each"
            )
        w, h = im.size
        if max(w, h) > MAX_ASPECT * max(1, min(w, h)):  # from the header, before decoding
            raise FileProblem(
                f"{path} is {w:,} x {h:,} pixels, a strip rather than a picture (sides over {MAX_ASPECT}:1): "
                "crop it to the picture first"
            )
        im.load()
        return im
    except Image.DecompressionBombError:
        raise FileProblem(
            f"{path} is too large to decode safely (over {Image.MAX_IMAGE_PIXELS:,} pixels): "
            "a decompression bomb, or an image to downscale first"
        ) from None
    except UnidentifiedImageError:
        raise FileProblem(f"{path} is not an image Pillow can read (JPEG, PNG, WebP, …)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise FileProblem(f"{path} is a corrupt or truncated image ({e})") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FileProblem(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileProblem(f"{path} is a directory, not an image") from None
    except PermissionError:
        raise FileProblem(f"{path}: permission denied") from None


def pixel_hash_of(im) -> bytes:
    rgba = im if im.mode == "RGBA" else im.convert("RGBA")
    h = hashlib.sha256(PIXEL_HASH_HEADER)
    h.update(rgba.width.to_bytes(4, "big") + rgba.height.to_bytes(4, "big"))
    h.update(rgba.tobytes())
    return h.digest()


def fingerprint(path: str | Path) -> Fingerprint:
    """Fingerprint one image file; FileProblem for a missing, non-image or corrupt file."""
    p = Path(path)
    data = _read(p)
    im = _open(p, data)
    return Fingerprint(
        content_hash=hashlib.sha256(data).digest(),
        pixel_hash=pixel_hash_of(im),
        phash=phash_of(im),
        width=im.width,
        height=im.height,
        signature=_signature.signature_of(im),
        central_phash=central_phash_of(im),
    )


@dataclass(frozen=True)
class Query:
    """What `verify` looks up for one image: its fingerprint, perceptual variants (candidate keys) and
    the second-stage probe (`signature.confirm(q.probe, recorded_signature)` per candidate)."""

    fingerprint: Fingerprint
    variants: tuple[tuple[str, int], ...]  # (how, phash): as-is, mirrored, crop-compensated …
    probe: "_signature.Probe | None" = None
    display_profile: str | None = None  # a non-sRGB colour profile that changes how the pixels look
    central_variants: tuple[tuple[str, int], ...] = ()  # (how, central pHash) per crop hypothesis
    central_source: object = None  # `central_source(im)`, to read the central region at a given alignment
    transparent: bool = False  # `has_transparency`: perceptual stages see colours, not what is shown
    padded_variants: object = None  # () -> `perceptual_variants(im)`: crop-padded pHashes, for twin assets


def _pad_hypotheses() -> tuple[tuple[str, tuple[float, float, float, float]], ...]:
    """(name, (left, top, right, bottom) fractions of the original presumed cut): even crops, one side,
    two adjacent sides (a corner), and one side plus its neighbours."""
    out = [(f"uncropped {f:.2%}", (f, f, f, f)) for f in CROP_FRACTIONS]
    sides = ("left", "top", "right", "bottom")
    for k, side in enumerate(sides):
        for f in (0.025, 0.05, 0.1):
            v = [0.0] * 4
            v[k] = f
            out.append((f"uncropped {side} {f:.1%}", tuple(v)))
    for k in range(4):
        a, b = sides[k], sides[(k + 1) % 4]
        for fa, fb in ((0.025, 0.025), (0.05, 0.05), (0.1, 0.025), (0.025, 0.1), (0.1, 0.1), (0.1, 0.05), (0.05, 0.1)):
            v = [0.0] * 4
            v[k], v[(k + 1) % 4] = fa, fb
            out.append((f"uncropped {a} {fa:.1%}, {b} {fb:.1%}", tuple(v)))
    for k in range(4):  # one side 10 %, the two next to it 2.5 % / 5 %
        for fn in (0.025, 0.05):
            v = [0.0] * 4
            v[k], v[(k + 1) % 4], v[(k + 3) % 4] = 0.1, fn, fn
            out.append((f"uncropped {sides[k]} 10.0%, sides {fn:.1%}", tuple(v)))
    return tuple(out)


PAD_HYPOTHESES = _pad_hypotheses()


def _central_hypotheses() -> tuple[tuple[str, tuple[float, float, float, float]], ...]:
    """PAD_HYPOTHESES, plus one side 10 % with unequal neighbours (2.5 % / 5 %) and opposite sides 5 %:
    each is exact for the central region (no padding), so a denser set pays off."""
    sides = ("left", "top", "right", "bottom")
    out = list(PAD_HYPOTHESES)
    for k in range(4):
        for fa, fb in ((0.025, 0.05), (0.05, 0.025)):
            v = [0.0] * 4
            v[k], v[(k + 1) % 4], v[(k + 3) % 4] = 0.1, fa, fb
            out.append((f"uncropped {sides[k]} 10.0%, {sides[(k + 1) % 4]} {fa:.1%}, {sides[(k + 3) % 4]} {fb:.1%}", tuple(v)))
    out += [("uncropped left and right 5.0%", (0.05, 0.0, 0.05, 0.0)), ("uncropped top and bottom 5.0%", (0.0, 0.05, 0.0, 0.05))]
    return tuple(out)


CENTRAL_HYPOTHESES = _central_hypotheses()
VARIANT_PX = 128  # the crop variants are computed from a copy reduced to about this many pixels a side
CENTRAL_PX = 256  # the central variants from a copy reduced to about this many


def central_variants(im) -> tuple[tuple[str, int], ...]:
    """Where the original's central region lies in the query under each crop hypothesis (none, and
    CENTRAL_HYPOTHESES' fractions cut from the sides), averaged onto the 32x32 grid and hashed; plus the
    mirror image's, as is. A crop of up to 10 % a side shows the whole region, so the right hypothesis sees
    the same pixels the publisher hashed, up to resampling. `im`: an image, or `central_source`'s table."""
    sat = im if isinstance(im, np.ndarray) else central_source(im)
    hyps = [("as-is", (0.0, 0.0, 0.0, 0.0)), *CENTRAL_HYPOTHESES]
    boxes = np.array([_box_under(sat, crop) for _, crop in hyps])
    grids = _area_grids(sat, boxes)
    values = _grid_phashes(grids)
    c = _dct_matrix()[:HASH_SIZE]
    low = c @ grids[0] @ c.T  # the mirror image's hash, from the as-is grid (odd columns negated)
    out, seen = [], set()
    for (name, _), v in [(hyps[0], values[0]), (("mirrored", None), mirror_phash_from_low(low)), *zip(hyps[1:], values[1:])]:
        if v not in seen:
            seen.add(v)
            out.append((name, v))
    return tuple(out)


def central_source(im) -> np.ndarray:
    """The summed-area table of the query in greyscale, reduced to about CENTRAL_PX a side (crop hypotheses
    are read from it)."""
    grey = im.convert("L")
    factor = max(1, min(grey.size) // CENTRAL_PX)
    return _sat(grey.reduce(factor) if factor > 1 else grey)


def _box_under(sat: np.ndarray, crop) -> tuple[float, float, float, float]:
    """Where the original's central box lies in a query of the table's size that lost `crop` of each side."""
    h, w = sat.shape[0] - 1, sat.shape[1] - 1
    l, t, r, b = crop
    m = CENTRAL_MARGIN
    kx, ky = 1 - l - r, 1 - t - b
    return ((m - l) / kx * w, (m - t) / ky * h, (1 - m - l) / kx * w, (1 - m - t) / ky * h)


def central_phash_at(sat: np.ndarray, crop: tuple[float, float, float, float], mirrored: bool = False) -> int:
    """The central pHash of the original, read from a query's `central_source` table on the hypothesis that
    `crop` = (left, top, right, bottom) fractions of the original were cut off (in the original's
    orientation; `mirrored`: the query is its mirror image)."""
    l, t, r, b = crop
    if mirrored:  # the mirrored query's left is the original's right
        l, r = r, l
    grid = _area_grids(sat, np.array([_box_under(sat, (l, t, r, b))]))[0]
    if mirrored:
        grid = grid[:, ::-1]
    return _grid_phashes(grid[None])[0]


def perceptual_variants(im, padded: bool = True) -> tuple[tuple[str, int], ...]:
    """The image's pHash, its mirror's, and the pHashes of the image padded back out (edge pixels
    repeated) as if PAD_HYPOTHESES' fractions had been cut from its sides: even crops, one side, a
    corner, a side and its neighbours. The padded variants are computed from a copy reduced to about
    256 px: they are approximations anyway, and this keeps a query of a 12 MP photo fast."""
    from PIL import Image

    grey = im.convert("L")
    low = _low_dct(_grey32(grey))
    out = [("as-is", _bits(low)), ("mirrored", mirror_phash_from_low(low))]
    if not padded:
        return tuple(out)
    factor = max(1, min(grey.size) // VARIANT_PX)
    arr = np.asarray(grey.reduce(factor) if factor > 1 else grey)
    h, w = arr.shape
    seen = {out[0][1]}
    for name, (l, t, r, b) in PAD_HYPOTHESES:
        kept_x, kept_y = 1 - l - r, 1 - t - b
        pads = (round(h * t / kept_y), round(h * b / kept_y)), (round(w * l / kept_x), round(w * r / kept_x))
        if not any(pads[0]) and not any(pads[1]):
            continue
        v = phash_of(Image.fromarray(np.pad(arr, pads, mode="edge")))
        if v not in seen:
            seen.add(v)
            out.append((name, v))
    return tuple(out)


def query(path: str | Path) -> Query:
    p = Path(path)
    data = _read(p)
    im = _open(p, data)
    rgb = im if im.mode == "RGB" else im.convert("RGB")
    means = _signature.cell_means(rgb)
    sat = central_source(im)
    central = central_variants(sat)
    # the query's own central pHash, read from the reduced copy (it is looked up, never recorded)
    fp = Fingerprint(
        hashlib.sha256(data).digest(),
        pixel_hash_of(im),
        phash_of(im),
        im.width,
        im.height,
        _signature.signature_of(rgb, means),
        central[0][1],
    )
    # publications are found through the central region under crops; the whole picture's padded crop
    # variants (slow, approximate) only serve twin assets, which record no central pHash
    return Query(
        fp,
        perceptual_variants(im, padded=False),
        _signature.prepare(rgb, means),
        display_profile(im),
        central_variants=central,
        central_source=sat,
        padded_variants=lambda: perceptual_variants(im),
        transparent=has_transparency(im),
    )


def display_profile(im) -> str | None:
    """A description of an embedded colour profile that does not display the pixels as sRGB would (it
    remaps their colours), or None. Judged by what the profile does, not by its name: a palette of test
    colours is converted through it to sRGB, and any channel moving by more than PROFILE_TOLERANCE levels
    makes it a display-changing profile. The pixel hash and signatures are of the pixels as decoded."""
    icc = im.info.get("icc_profile")
    if not icc:
        return None
    try:
        import io

        from PIL import Image, ImageCms

        embedded = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = ImageCms.getProfileDescription(embedded).strip()[:60] or "an unnamed colour profile"
        if embedded.profile.xcolor_space.strip() != "RGB":
            return f"{desc} (not an RGB profile)"
        levels = np.array([0, 32, 64, 96, 128, 160, 192, 224, 255], dtype=np.uint8)
        r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
        palette = Image.fromarray(np.stack([r.ravel(), g.ravel(), b.ravel()], -1).reshape(27, 27, 3), "RGB")
        shown = ImageCms.profileToProfile(palette, embedded, ImageCms.createProfile("sRGB"), outputMode="RGB")
        moved = np.abs(np.asarray(shown, dtype=np.int16) - np.asarray(palette, dtype=np.int16)).max()
    except Exception:  # Pillow raises several kinds for a malformed profile: any means "cannot tell"
        return "an unreadable colour profile"
    return None if moved <= PROFILE_TOLERANCE else f"{desc}, which moves colours by up to {int(moved)} levels"


PROFILE_TOLERANCE = 6  # grey levels: sRGB variants (v2/v4, black point) differ by a few


def has_transparency(im) -> bool:
    """Whether any pixel is not fully opaque: what a viewer shows then depends on the background."""
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
        alpha = im.convert("RGBA").getchannel("A")
        return alpha.getextrema()[0] < 255
    return False


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
