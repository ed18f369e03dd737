"""Copies of an image as they appear in the wild: re-encoded, resized, stripped, recoloured,
mirrored, cropped. Used by the recall benchmark, the demo and the tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps


def strip_jpeg_metadata(data: bytes) -> bytes:
    """Drop APP1..APP15 and COM segments from a JPEG without re-encoding (like exiftool -all=)."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, i = bytearray(b"\xff\xd8"), 2
    while i < len(data):
        if data[i] != 0xFF:
            raise ValueError("malformed JPEG")
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            out += data[i:]
            break
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out += data[i : i + 2 + length]
        i += 2 + length
    return bytes(out)


def _jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def variants(path: str | Path) -> dict[str, bytes]:
    """name -> encoded bytes of a transformed copy."""
    data = Path(path).read_bytes()
    im = Image.open(io.BytesIO(data))
    im.load()
    rgb = im.convert("RGB")
    w, h = rgb.size

    def crop(f):
        dx, dy = round(w * f), round(h * f)
        return rgb.crop((dx, dy, w - dx, h - dy))

    webp = io.BytesIO()
    rgb.save(webp, "WEBP", quality=80)
    out = {
        "jpeg-q90": _jpeg(rgb, 90),
        "jpeg-q75": _jpeg(rgb, 75),
        "jpeg-q50": _jpeg(rgb, 50),
        "webp": webp.getvalue(),
        "resize-50%": _jpeg(rgb.resize((w // 2, h // 2), Image.Resampling.LANCZOS), 85),
        "resize-25%": _jpeg(rgb.resize((max(8, w // 4), max(8, h // 4)), Image.Resampling.LANCZOS), 85),
        "resize-1080w": _jpeg(rgb.resize((1080, round(h * 1080 / w)), Image.Resampling.LANCZOS), 85),
        "brighter-10%": _jpeg(ImageEnhance.Brightness(rgb).enhance(1.1), 85),
        "darker-10%": _jpeg(ImageEnhance.Brightness(rgb).enhance(0.9), 85),
        "contrast+10%": _jpeg(ImageEnhance.Contrast(rgb).enhance(1.1), 85),
        "grayscale": _jpeg(ImageOps.grayscale(rgb), 85),
        "mirrored": _jpeg(ImageOps.mirror(rgb), 85),
        "q75-resize-q60": _jpeg(Image.open(io.BytesIO(_jpeg(rgb, 75))).resize((w * 2 // 3, h * 2 // 3)), 60),
        "crop-2.5%": _jpeg(crop(0.025), 85),
        "crop-5%": _jpeg(crop(0.05), 85),
    }
    if data[:2] == b"\xff\xd8":
        out["metadata-stripped"] = strip_jpeg_metadata(data)
    return out


NON_CROP = (
    "jpeg-q90",
    "jpeg-q75",
    "jpeg-q50",
    "webp",
    "resize-50%",
    "resize-25%",
    "resize-1080w",
    "brighter-10%",
    "darker-10%",
    "contrast+10%",
    "grayscale",
    "mirrored",
    "q75-resize-q60",
    "metadata-stripped",
)


# ---------------------------------------------------------------- crops and a caption (copies)

# (left, top, right, bottom) fractions cut from each side: uneven crops within the even 5 % crop's
# budget (at most 10 % off any one side, at most 20 % of the width or height in all).
UNEVEN_CROPS = {
    "crop-2.5%-uneven": (0.025, 0.0, 0.0, 0.05),
    "crop-5%-uneven-a": (0.10, 0.025, 0.0, 0.05),
    "crop-5%-uneven-b": (0.025, 0.10, 0.05, 0.0),
    "crop-5%-uneven-c": (0.0, 0.0, 0.10, 0.10),
}


def crop_sides(im: Image.Image, sides: tuple[float, float, float, float]) -> Image.Image:
    """Cut fractions (left, top, right, bottom) of the width/height off each side."""
    w, h = im.size
    l, t, r, b = sides
    return im.crop((round(w * l), round(h * t), w - round(w * r), h - round(h * b)))


def add_caption(im: Image.Image, text: str = "new season \u2014 shop the look @brand") -> Image.Image:
    """A social-media caption: one line of white text with a thin dark outline near the bottom,
    about 4 % of the picture's height (no opaque box)."""
    from PIL import ImageDraw, ImageFont

    out = im.convert("RGB").copy()
    w, h = out.size
    size = max(8, round(h * 0.04))
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(out)
    while size > 8 and draw.textlength(text, font=font) > 0.9 * w:
        size -= 1
        font = ImageFont.load_default(size=size)
    tw = draw.textlength(text, font=font)
    draw.text(
        ((w - tw) / 2, h * 0.9 - size),
        text,
        font=font,
        fill=(255, 255, 255),
        stroke_width=max(1, size // 12),
        stroke_fill=(20, 20, 20),
    )
    return out


def copy_variants(path: str | Path) -> dict[str, bytes]:
    """`variants` plus uneven crops and a caption overlay: every kind of copy that should still count
    as the same picture."""
    out = variants(path)
    rgb = Image.open(path).convert("RGB")
    for name, sides in UNEVEN_CROPS.items():
        out[name] = _jpeg(crop_sides(rgb, sides), 85)
    out["caption"] = _jpeg(add_caption(rgb), 85)
    return out


CROPS = ("crop-2.5%", "crop-5%", *UNEVEN_CROPS)


# ---------------------------------------------------------------- derivatives (not the same picture)


def _soft_ellipse(size: tuple[int, int], box: tuple[float, float, float, float], feather: float) -> Image.Image:
    """An 'L' mask: a filled ellipse inside `box` (pixels), edges blurred by `feather` pixels."""
    from PIL import ImageDraw, ImageFilter

    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    return mask.filter(ImageFilter.GaussianBlur(feather)) if feather > 0 else mask


def torso_mask(size: tuple[int, int], rng) -> Image.Image:
    """A torso-like region: an upright ellipse in the lower middle, 8–16 % of the picture."""
    w, h = size
    area = rng.uniform(0.08, 0.16)
    aspect = rng.uniform(0.7, 1.1)  # ellipse width / height, in pixels relative to the picture's shape
    # area of an ellipse = pi/4 * ew * eh (as fractions of w and h)
    eh = min(0.6, (area * 4 / np.pi / aspect) ** 0.5)
    ew = min(0.6, area * 4 / np.pi / eh)
    cx, cy = rng.uniform(0.35, 0.65), rng.uniform(0.5, 0.75)
    box = (w * (cx - ew / 2), h * (cy - eh / 2), w * (cx + ew / 2), h * (cy + eh / 2))
    return _soft_ellipse(size, box, feather=min(w, h) * 0.01)


def recolour(im: Image.Image, mask: Image.Image, degrees: float) -> Image.Image:
    """Rotate the hue (HSV, as an editor's hue slider) by `degrees` inside `mask`."""
    hsv = np.asarray(im.convert("RGB").convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + round(degrees * 256 / 360)) % 256
    # a dull outfit recoloured in an editor usually gains some colour too
    hsv[..., 1] = np.maximum(hsv[..., 1], 60)
    changed = Image.fromarray(hsv, "HSV").convert("RGB")
    return Image.composite(changed, im.convert("RGB"), mask)


def darken(im: Image.Image, mask: Image.Image, factor: float) -> Image.Image:
    rgb = im.convert("RGB")
    return Image.composite(ImageEnhance.Brightness(rgb).enhance(factor), rgb, mask)


def paste_patch(im: Image.Image, donor: Image.Image, area: float, rng) -> Image.Image:
    """Paste a piece of `donor` (another face/photo), covering `area` of the picture, with a slightly
    soft oval edge (as a face swap), somewhere in the middle 80 %."""
    rgb = im.convert("RGB").copy()
    w, h = rgb.size
    pw = ph = round((area * w * h) ** 0.5)
    d = donor.convert("RGB")
    s = min(d.size)
    side = max(8, round(s * rng.uniform(0.35, 0.6)))
    dx, dy = int(rng.integers(0, d.width - side + 1)), int(rng.integers(0, d.height - side + 1))
    patch = d.crop((dx, dy, dx + side, dy + side)).resize((pw, ph), Image.Resampling.LANCZOS)
    x = int(rng.integers(round(w * 0.1), max(round(w * 0.1) + 1, round(w * 0.9) - pw)))
    y = int(rng.integers(round(h * 0.1), max(round(h * 0.1) + 1, round(h * 0.9) - ph)))
    # a rounded mask whose covered area is `area` (a square with softened corners)
    mask = Image.new("L", (pw, ph), 255)
    from PIL import ImageDraw, ImageFilter

    mask = Image.new("L", (pw, ph), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, pw - 1, ph - 1), radius=pw // 4, fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(max(1, pw // 40)))
    rgb.paste(patch, (x, y), mask)
    return rgb


def replace_border(im: Image.Image, donor: Image.Image, area: float, rng) -> Image.Image:
    """Replace the background along the edges: a frame covering `area` of the picture, uneven per side,
    filled from a blurred `donor` photo."""
    from PIL import ImageFilter

    rgb = im.convert("RGB").copy()
    w, h = rgb.size
    weights = rng.uniform(0.5, 1.5, size=4)
    # per-side widths f*weights (fractions of w or h); solve for f so the frame covers `area`
    lo, hi = 0.0, 0.5
    for _ in range(40):
        f = (lo + hi) / 2
        l, t, r, b = np.minimum(f * weights, 0.3)
        covered = 1 - (1 - l - r) * (1 - t - b)
        lo, hi = (f, hi) if covered < area else (lo, f)
    l, t, r, b = np.minimum(f * weights, 0.3)
    bg = donor.convert("RGB").resize((w, h), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(min(w, h) / 60))
    inner = (round(w * l), round(h * t), w - round(w * r), h - round(h * b))
    bg.paste(rgb.crop(inner), inner[:2])
    return bg


def derivatives(path: str | Path, donor=None, seed: int = 0, each: int = 2) -> dict[str, bytes]:
    """name -> JPEG bytes of a derivative: the same composition with something changed, `each` of every
    kind, region/size/strength drawn from a seeded RNG:
    recoloured outfit (hue rotated 60–300 degrees over a torso-like ellipse of 8–16 %), darkened
    outfit (30–40 % darker), a face/photo patch from `donor` pasted over 3–6 % of the area, the
    background replaced over an uneven frame covering 10 % of the area (from `donor`, blurred).
    `donor`: another photograph (path or image); without one, the picture itself turned upside down."""
    rgb = Image.open(path).convert("RGB")
    if donor is None:
        d = rgb.rotate(180)
    else:
        d = donor if isinstance(donor, Image.Image) else Image.open(donor)
    rng = np.random.default_rng(seed)
    out = {}
    for k in range(1, each + 1):
        out[f"recoloured-outfit-{k}"] = _jpeg(recolour(rgb, torso_mask(rgb.size, rng), rng.uniform(60, 300)), 85)
        out[f"darkened-outfit-{k}"] = _jpeg(darken(rgb, torso_mask(rgb.size, rng), rng.uniform(0.6, 0.7)), 85)
        out[f"pasted-face-{k}"] = _jpeg(paste_patch(rgb, d, rng.uniform(0.03, 0.06), rng), 85)
        out[f"background-replaced-{k}"] = _jpeg(replace_border(rgb, d, 0.10, rng), 85)
    return out


def recolour_keeping_brightness(im: Image.Image, mask: Image.Image, degrees: float) -> Image.Image:
    """Rotate the colour (Cb, Cr) by `degrees` inside `mask`, brightness (Y) kept: an editor's "Color" blend
    or a Lab hue shift. Only the cells' colours move, and coherently, so their comparisons mostly keep
    their signs."""
    from .signature import _RGB2YCC, _ycc

    ycc = _ycc(np.asarray(im.convert("RGB"), dtype=np.float64))
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    turned = ycc.copy()
    turned[..., 1], turned[..., 2] = c * ycc[..., 1] - s * ycc[..., 2], s * ycc[..., 1] + c * ycc[..., 2]
    m = (np.asarray(mask, dtype=np.float64) / 255)[..., None]
    out = (m * turned + (1 - m) * ycc) @ np.linalg.inv(_RGB2YCC).T
    return Image.fromarray(np.clip(np.round(out), 0, 255).astype(np.uint8))


def paste_blended(im: Image.Image, donor: Image.Image, area: float, rng, sigma: float = 0.01) -> Image.Image:
    """`paste_patch`, then the retoucher's frequency separation: inside the patch, the picture's own
    low frequencies (a Gaussian blur of `sigma` x the shorter side) replace the donor's, so the patch takes
    the original's tone and colour layout while its detail, the new face, comes from the donor."""
    from PIL import ImageFilter

    rgb = im.convert("RGB")
    pasted = paste_patch(rgb, donor, area, rng)
    changed = (np.asarray(rgb) != np.asarray(pasted)).any(-1)
    m = np.asarray(Image.fromarray(changed.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(2)))[..., None] / 255
    blur = ImageFilter.GaussianBlur(sigma * min(rgb.size))  # a blur is linear: blur(o - d) = blur(o) - blur(d)
    low = np.asarray(rgb.filter(blur), dtype=np.float64) - np.asarray(pasted.filter(blur), dtype=np.float64)
    return Image.fromarray(np.clip(np.round(np.asarray(pasted, dtype=np.float64) + m * low), 0, 255).astype(np.uint8))


def retouched(path: str | Path, donor, seed: int = 0, each: int = 2) -> dict[str, bytes]:
    """name -> JPEG bytes of a derivative a retoucher makes to pass a check on coarse means: the outfit's
    colour rotated 20-60 degrees with its brightness kept, and a face/photo patch of 4-8 % pasted with
    frequency separation (blur 1 % of the shorter side), and a whole other photo given the picture's
    layout the same way. Found by the red team; kept in the recall bench.
    A recolour that moves under 2 % of the pixels by more than 12 levels (a grey picture) is left out."""
    rgb = Image.open(path).convert("RGB")
    d = donor if isinstance(donor, Image.Image) else Image.open(donor)
    rng = np.random.default_rng(seed + 1000)
    out = {}
    for k in range(1, each + 1):
        recoloured = recolour_keeping_brightness(rgb, torso_mask(rgb.size, rng), rng.uniform(20, 60))
        change = np.abs(np.asarray(recoloured, dtype=np.int16) - np.asarray(rgb, dtype=np.int16)).max(-1)
        if (change > 12).mean() >= 0.02:  # a grey picture's colour cannot rotate: no derivative to count
            out[f"recoloured-brightness-kept-{k}"] = _jpeg(recoloured, 85)
        out[f"pasted-blended-{k}"] = _jpeg(paste_blended(rgb, d, rng.uniform(0.04, 0.08), rng), 85)
    out["other-photo-blended"] = _jpeg(blend_layout(rgb, d), 85)
    return out


def blend_layout(im: Image.Image, donor: Image.Image, sigma: float = 0.01, span: float = 16.0) -> Image.Image:
    """Another photo carrying `im`'s layout: the donor's detail (itself less a blur of `sigma` x the shorter
    side) over `im`'s blurred picture squeezed to `span` grey levels around mid-grey: to the eye the donor
    over faint blocks, to cell means `im`'s layout. Frequency separation used as a forgery (red team)."""
    from PIL import ImageFilter

    rgb = im.convert("RGB")
    d = donor.convert("RGB").resize(rgb.size, Image.Resampling.LANCZOS)
    blur = ImageFilter.GaussianBlur(sigma * min(rgb.size))
    low = np.asarray(rgb.filter(blur), dtype=np.float64)
    low = 128 + (low - low.mean()) * span / max(1.0, float(np.ptp(low.mean(-1))))
    out = np.asarray(d, dtype=np.float64) - np.asarray(d.filter(blur), dtype=np.float64) + low
    return Image.fromarray(np.clip(np.round(out), 0, 255).astype(np.uint8))


def forge_phash(source_im: Image.Image, target_phash: int, max_rounds: int = 30) -> Image.Image:
    """Add smooth low-frequency grey shading (a sum of the pHash's own 8x8 low DCT cosines, drawn at
    full resolution) to `source_im` until its pHash equals `target_phash` (or as close as clipping
    allows): the pHash forgery a second-stage check must catch."""
    from . import hashing

    rgb = np.asarray(source_im.convert("RGB"), dtype=np.float64)
    h, w = rgb.shape[:2]
    n, k = hashing.IMG_SIZE, hashing.HASH_SIZE
    want = np.array([(target_phash >> (63 - i)) & 1 for i in range(64)], dtype=bool).reshape(k, k)
    sign = np.where(want, 1.0, -1.0)
    u = np.arange(k)
    # cosine basis at full resolution, in the 32-px grid's coordinates
    xs = (np.arange(w) + 0.5) * n / w - 0.5
    ys = (np.arange(h) + 0.5) * n / h - 0.5
    bx = np.cos(np.pi * u[:, None] * (2 * xs[None, :] + 1) / (2 * n))  # k x w
    by = np.cos(np.pi * u[:, None] * (2 * ys[None, :] + 1) / (2 * n))  # k x h
    # a unit change of one coefficient costs a shading amplitude of 1/(norm_u * norm_v)
    norm = np.where(u == 0, 2.0 * n, 1.0 * n)
    coef = np.zeros((k, k))
    margin = 0.0
    out = source_im.convert("RGB")
    for _ in range(max_rounds):
        shade = by.T @ (coef / norm[:, None] / norm[None, :]) @ bx
        arr = np.clip(rgb + shade[..., None], 0, 255)
        out = Image.fromarray(np.round(arr).astype(np.uint8))
        low = hashing._low_dct(hashing._grey32(out))
        if hashing._bits(low) == target_phash:
            break
        med = np.median(low)
        spread = np.median(np.abs(low - med))
        margin = max(margin, 0.15 * spread) * 1.3
        # move every coefficient on the wrong side (or too close) to `margin` past the median
        gap = sign * (low - med)
        fix = np.where(gap < margin, (margin - gap) * sign, 0.0)
        fix[0, 0] = 0.0 if want[0, 0] else fix[0, 0]
        coef += fix
    return out


def forge_central_phash(source_im: Image.Image, target_phash: int) -> Image.Image:
    """`forge_phash` aimed at the recorded hash of a publication, the central region's pHash: the central
    box of `source_im` is shaded until its pHash is `target_phash`, the border left as it was."""
    from . import hashing

    im = source_im.convert("RGB").copy()
    box = hashing.central_box(*im.size)
    im.paste(forge_phash(im.crop(box), target_phash), box[:2])
    return im
