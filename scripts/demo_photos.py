"""Write the demo's photographs (real photos shipped with scikit-image) as 1080-px JPEGs with
camera metadata, and the copies a third party might find in the wild."""

import sys
from pathlib import Path

from PIL import Image
from skimage import data

from consentry import imaging

PHOTOS = {
    "captures/capture-01.jpg": "astronaut",
    "captures/capture-02.jpg": "camera",
    "campaign/look-01.jpg": "coffee",
    "campaign/look-02.jpg": "rocket",
    "campaign/look-03.jpg": "chelsea",
    "campaign/look-04.jpg": "hubble_deep_field",
    "campaign/look-05.jpg": "moon",
    "campaign/look-06.jpg": "colorwheel",
    "brand/own-capture.jpg": "grass",
    "found/never-registered.jpg": "immunohistochemistry",
}


def main(out: Path) -> None:
    for rel, name in PHOTOS.items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        im = Image.fromarray(getattr(data, name)()).convert("RGB")
        im = im.resize((1080, round(im.height * 1080 / im.width)), Image.Resampling.LANCZOS)
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Studio", "Campaign camera"
        im.save(p, quality=92, exif=exif, comment=b"Consentry demo")


def copies(src: Path, out: Path) -> None:
    """A copy re-encoded and resized, one stripped of metadata, and an unlicensed variant: the
    outfit recoloured (hue turned half-way round over the lower middle)."""
    import numpy as np

    v = imaging.variants(src)
    (out / "look-01-recompressed-resized.jpg").write_bytes(v["q75-resize-q60"])
    (out / "look-01-metadata-stripped.jpg").write_bytes(v["metadata-stripped"])
    im = Image.open(src).convert("RGB")
    mask = imaging.torso_mask(im.size, np.random.default_rng(7))
    imaging.recolour(im, mask, 180).save(out / "look-01-outfit-recoloured.jpg", quality=88)


if __name__ == "__main__":
    if sys.argv[1] == "copies":
        copies(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main(Path(sys.argv[1]))
