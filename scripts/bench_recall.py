"""Recall and false matches of `verify`'s perceptual lookup on real photographs.

Photos: every distinct photograph scikit-image ships offline (20), plus the four quadrants of the
larger ones as further distinct images. Each photo is "published" (its pHash indexed); every
transformed copy is looked up with verify's own code (as-is, mirrored and crop-compensated
variants, the real multi-index search, threshold 8). Recall: the copy finds its original. False
match: a copy finds a different photo, or a photo left out of the index finds anything (so a
never-registered image could come out as authorised).
"""
import io
import json
import statistics
import sys
from collections import defaultdict

import numpy as np
from PIL import Image
from skimage import data

from consentry import hashing, imaging
from consentry.matcher import DEFAULT_THRESHOLD, PerceptualIndex
from consentry.verify import _best_perceptual

PHOTOS = ["astronaut", "camera", "chelsea", "coffee", "coins", "grass", "gravel", "horse", "hubble_deep_field",
          "immunohistochemistry", "moon", "retina", "rocket", "brick", "clock", "cell", "page", "text", "colorwheel"]
# quadrants of the larger photos as further images; not retina's, whose left and right halves are
# near mirror images of each other (a mirrored copy must match, so they would, by design)
TILED = ["astronaut", "camera", "hubble_deep_field", "immunohistochemistry", "coffee", "grass", "gravel", "moon",
         "brick"]


def photographs() -> dict[str, bytes]:
    ims = {n: Image.fromarray(getattr(data, n)()).convert("RGB") for n in PHOTOS}
    ims["motorcycle"] = Image.fromarray(data.stereo_motorcycle()[0]).convert("RGB")
    for n in TILED:
        w, h = ims[n].size
        for k, (x, y) in enumerate([(0, 0), (w // 2, 0), (0, h // 2), (w // 2, h // 2)]):
            ims[f"{n}-q{k}"] = ims[n].crop((x, y, x + w // 2, y + h // 2))
    out = {}
    for n, im in ims.items():
        if min(im.size) < 128:
            continue
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=92)
        out[n] = buf.getvalue()
    return out


def main() -> int:
    as_json = "--json" in sys.argv[1:]
    threshold = DEFAULT_THRESHOLD
    photos = photographs()
    names = list(photos)
    import tempfile
    from pathlib import Path

    tmp = Path(tempfile.mkdtemp())
    originals = {}
    for n, b in photos.items():
        (tmp / f"{n}.jpg").write_bytes(b)
        originals[n] = hashing.fingerprint(tmp / f"{n}.jpg").phash
    ids = {n: i for i, n in enumerate(names)}
    index = PerceptualIndex.build(np.array([originals[n] for n in names], dtype=np.uint64),
                                  np.arange(len(names)))
    found = defaultdict(lambda: [0, 0])
    distances = defaultdict(list)
    false_matches = []
    for n in names:
        for vname, blob in imaging.variants(tmp / f"{n}.jpg").items():
            im = Image.open(io.BytesIO(blob))
            im.load()
            best = _best_perceptual(index, hashing.perceptual_variants(im), threshold)
            found[vname][1] += 1
            if ids[n] in best:
                found[vname][0] += 1
                distances[vname].append(best[ids[n]][0])
            wrong = [names[i] for i in best if i != ids[n]]
            if wrong:
                false_matches.append({"copy": f"{n}/{vname}", "matched": wrong})
    # never registered: each photo against an index of all the others
    never = 0
    for n in names:
        others = [m for m in names if m != n]
        idx = PerceptualIndex.build(np.array([originals[m] for m in others], dtype=np.uint64), np.arange(len(others)))
        im = Image.open(tmp / f"{n}.jpg")
        if _best_perceptual(idx, hashing.perceptual_variants(im), threshold):
            never += 1
            false_matches.append({"copy": f"{n}/original (left out)", "matched": "something"})
    pairs = [(a, b) for a in names for b in names if a < b]
    min_pair = min(hashing.hamming(originals[a], originals[b]) for a, b in pairs)
    recall = {k: round(v[0] / v[1], 4) for k, v in found.items()}
    non_crop = [found[k] for k in imaging.NON_CROP]
    result = {
        "schema_version": 1, "photos": len(names), "threshold_bits": threshold,
        "recall": recall,
        "recall_non_crop": round(sum(f[0] for f in non_crop) / sum(f[1] for f in non_crop), 4),
        "median_distance": {k: statistics.median(v) if v else None for k, v in distances.items()},
        "false_matches": len(false_matches), "false_match_examples": false_matches[:5],
        "copies_checked": sum(f[1] for f in found.values()), "never_registered_matched": never,
        "different_photo_pairs": len(pairs), "min_distance_between_different_photos": min_pair,
    }
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(f"{len(names)} real photographs, threshold {threshold} bits of 64")
        for k, v in recall.items():
            print(f"  {k:20} recall {v:7.2%}   median distance {result['median_distance'][k]}")
        print(f"  non-crop transformations: recall {result['recall_non_crop']:.2%} (target >= 99 %); "
              f"2.5 % crop: {recall['crop-2.5%']:.2%} (target >= 90 %)")
        print(f"  false matches: {len(false_matches)} over {result['copies_checked']} copies and {len(names)} "
              f"left-out originals (target 0); closest pair of different photos: {min_pair} bits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
