"""Image fingerprints: the file's sha256, a canonical pixel sha256, a 64-bit perceptual hash and a
32-byte second-stage signature (`signature.py`).

- content hash: sha256 of the file's bytes (survives nothing, proves the exact file);
- pixel hash: sha256 over a fixed header, width, height and the RGBA bytes as decoded with fixed
  settings, no EXIF rotation (survives metadata stripping and lossless re-saves);
- pHash: the DCT perceptual hash (imagehash.phash's algorithm: 32x32 greyscale, 2-D DCT-II, the
  8x8 low frequencies against their median), computed with numpy alone. Its mirror image comes for
  free: flipping an image left-right negates the DCT's odd columns.
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
IMPRINT_BYTES = 56
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
    signature: bytes = NO_SIGNATURE  # 32, `signature.signature_of`

    @property
    def imprint(self) -> bytes:
        """The 56 bytes recorded on chain: pixel-hash prefix (16), pHash (8), signature (32)."""
        return imprint(self.pixel_hash, self.phash, self.signature)


def imprint(pixel_hash: bytes, phash: int, signature: bytes = NO_SIGNATURE) -> bytes:
    if len(signature) != _signature.SIGNATURE_BYTES:
        raise ValueError(f"a signature is {_signature.SIGNATURE_BYTES} bytes, not {len(signature)}")
    return pixel_hash[:16] + phash.to_bytes(8, "big") + signature


def split_imprint(data: bytes) -> tuple[bytes, int, bytes]:
    """(pixel-hash prefix (16), pHash, signature (32)) of a 56-byte imprint."""
    if len(data) != IMPRINT_BYTES:
        raise ValueError(f"an imprint is {IMPRINT_BYTES} bytes, not {len(data)}")
    return data[:16], int.from_bytes(data[16:24], "big"), data[24:56]


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
            raise FileProblem(f"{path} has {im.n_frames} frames (an animation or a multi-page file): Consentry "
                              "fingerprints single-frame images; extract the frames and check each")
        im.load()
        return im
    except Image.DecompressionBombError:
        raise FileProblem(f"{path} is too large to decode safely (over {Image.MAX_IMAGE_PIXELS:,} pixels): "
                          "a decompression bomb, or an image to downscale first") from None
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
    )


@dataclass(frozen=True)
class Query:
    """What `verify` looks up for one image: its fingerprint, perceptual variants (candidate keys) and
    the second-stage probe (`signature.confirm(q.probe, recorded_signature)` per candidate)."""

    fingerprint: Fingerprint
    variants: tuple[tuple[str, int], ...]  # (how, phash): as-is, mirrored, crop-compensated …
    probe: "_signature.Probe | None" = None
    display_profile: str | None = None  # a non-sRGB colour profile that changes how the pixels look


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
VARIANT_PX = 128  # the crop variants are computed from a copy reduced to about this many pixels a side


def perceptual_variants(im) -> tuple[tuple[str, int], ...]:
    """The image's pHash, its mirror's, and the pHashes of the image padded back out (edge pixels
    repeated) as if PAD_HYPOTHESES' fractions had been cut from its sides: even crops, one side, a
    corner, a side and its neighbours. The padded variants are computed from a copy reduced to about
    256 px: they are approximations anyway, and this keeps a query of a 12 MP photo fast."""
    from PIL import Image

    grey = im.convert("L")
    low = _low_dct(_grey32(grey))
    out = [("as-is", _bits(low)), ("mirrored", mirror_phash_from_low(low))]
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
    fp = Fingerprint(hashlib.sha256(data).digest(), pixel_hash_of(im), phash_of(im), im.width, im.height,
                     _signature.signature_of(rgb, means))
    return Query(fp, perceptual_variants(im), _signature.prepare(rgb, means), display_profile(im))


def display_profile(im) -> str | None:
    """The name of an embedded colour profile that is not sRGB (it changes how the pixels look), or None.
    The pixel hash and signatures are of the pixels as decoded; a profile can remap their colours."""
    icc = im.info.get("icc_profile")
    if not icc:
        return None
    try:
        import io

        from PIL import ImageCms

        desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except Exception:  # Pillow raises several kinds for a malformed profile: any means "cannot tell"
        return "an unreadable colour profile"
    return None if "srgb" in desc.lower() else (desc[:60] or "an unnamed colour profile")


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
