"""Copies of an image as they appear in the wild: re-encoded, resized, stripped, recoloured,
mirrored, cropped. Used by the recall benchmark, the demo and the tests."""
from __future__ import annotations

import io
from pathlib import Path

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
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out += data[i:i + 2 + length]
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
        "jpeg-q90": _jpeg(rgb, 90), "jpeg-q75": _jpeg(rgb, 75), "jpeg-q50": _jpeg(rgb, 50),
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


NON_CROP = ("jpeg-q90", "jpeg-q75", "jpeg-q50", "webp", "resize-50%", "resize-25%", "resize-1080w",
            "brighter-10%", "darker-10%", "contrast+10%", "grayscale", "mirrored", "q75-resize-q60",
            "metadata-stripped")
