"""Second-stage signature: is a perceptual candidate *the same picture*, or a derivative of it?

The 64-bit pHash finds candidates; it cannot authorise. A recoloured or darkened outfit, a pasted face
or a replaced background move it by 0-12 bits, and smooth low-frequency shading gives any photo a
chosen pHash. This 32-byte signature, recorded beside the pHash (imprint = pixel_hash[:16] + pHash +
signature), is checked against every candidate by `confirm`.

SIGNATURE v1 (32 bytes), from the image as published (Pillow decode, no EXIF rotation, convert("RGB")):
  Grid(n): cell (i, j), row i from the top, column j from the left, covers pixel rows
    floor(i*H/n) .. floor((i+1)*H/n)-1 and columns floor(j*W/n) .. floor((j+1)*W/n)-1 (images under
    8 px a side are first enlarged by nearest neighbour to 8). R, G, B = the cell's mean values.
    Y = 0.299R + 0.587G + 0.114B;  Cb = -0.168736R - 0.331264G + 0.5B;  Cr = 0.5R - 0.418688G - 0.081312B.
  Bytes 0-15, structure: Y on Grid(16) as a 16x16 matrix M; D = the orthonormal 16-point DCT-II matrix;
    P = D[0:8]^T D[0:8] (projection on frequencies 0..7); S = M - P M P (the high band, which the
    pHash does not see). Bits: round(S[i][j], 3) > 0, for the 128 cells with i + j even, row-major,
    MSB first.
  Bytes 16-31, layout: Grid(4), cell k = 4i + j is byte 16 + k:
    bits 7-4: floor(round(16 (Y - Ymin) / (Ymax - Ymin), 3)) capped at 15 (Ymin, Ymax over the 16
    cells; 0 if equal); bits 3-2: Cb code, bits 1-0: Cr code, with v = round(Cb or Cr, 3):
    code = 0 if v < -8, 1 if v < 0, 2 if v < 8, else 3. (round() = to 3 decimals, so that float
    noise cannot flip a grey image's bits; a value still on a boundary is tolerated by `confirm`.)

WHY THIS LAYOUT (measured on the 56 photos of scripts/bench_recall.py, copies vs seeded derivatives):
  - an 8x8 grid of mean luma/colour (first draft) repeats what the pHash already encodes: a pHash
    forgery of another photo passed it in 25-30 % of cases, because forcing the 8x8 low DCT band also
    imprints the target's 8x8 layout. The high band of a 16x16 grid is what the pHash does not see and
    the forgery's smooth shading does not touch: alone it caught 93-98 % of forgeries, 80 % of
    pasted patches, but almost no recoloured/darkened outfits (smooth, low-band changes);
  - so half the bytes keep a coarse absolute layout: range-normalised brightness (a darkened region)
    and colour (a recoloured one) on a 4x4 grid; together ~75-93 % of every derivative kind.
  - PDQ (256 bits) was not chosen: it is global (cannot say where a picture differs), not crop-aligned,
    and needs a dependency and a long spec; a 3 % patch moves it by about as much as a 5 % crop.

CHECK (`prepare` once per query, `confirm` per candidate): the query is reduced to a 128x128 grid
(summed-area tables, as is and mirrored). For mirror x crop hypotheses (up to 10 % off any side, 20 %
per axis; a 5 % grid, then coordinate descent to 0.625 %) the recorded grids are recomputed from the
query, cells the query shows under half of are skipped, and per 16x16 block: structure cells whose
query sign disagrees by more than LUMA_THRESHOLD grey levels; layout cells outside their recorded
brightness interval by more than LAYOUT_THRESHOLD (after a robust brightness/contrast fit) or colour
interval by more than CHROMA_THRESHOLD (not compared for a greyscale query). Confirmed iff at most
ALLOWED_CELLS blocks differ *and* the query's high band agrees in sign with the record for at least
MIN_AGREEMENT of its energy (positive evidence: a flat or saturated forgery has nothing to disagree
with, so "no block differs" alone is not enough).

LIMITS (honest): 32 bytes see the picture at 16x16 (structure) and 4x4 (colour). Edits smaller than a
block, or that keep the block's brightness, colour and fine-structure sign (a face swapped for one of
the same size, tone and pose; a dark outfit darkened further; a hue change of a dull region) pass.
Someone who knows the algorithm can aim at both hashes: start from the original, change what they
want, then repair the pHash (low band) and these 256 bits (16x16 high band + 4x4 layout) with smooth
shading and per-block tone tweaks; the search over crops and mirrors gives a little extra room. What
raises the cost: the signature is over the high band (repairs must add visible 16x16-scale texture),
a forger must satisfy 128 sign bits *and* 16 brightness/colour intervals at once, and the check only
uses what the query shows (a greyscale or cropped forgery loses the colour/edges it would need). For
stronger guarantees verify the exact pixel hash, or C2PA manifests, which this does not replace.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SIGNATURE_BYTES = 32
GRID = 16         # cells per side; one bit each
LOW = 8           # DCT frequencies 0..7 on both axes (the pHash's band) are removed
MICRO = 128       # query-side micro grid
MAX_SIDE = 0.10   # crop hypotheses: at most 10 % off a side ...
MAX_AXIS = 0.20   # ... and 20 % of the width or height in all
MIN_VISIBLE = 0.5
PARTIAL_ALLOWANCE = 40.0
LUMA_THRESHOLD = 10.0
LGRID = 4         # layout cells per side: luma level (4 bits) + Cb, Cr (2 bits each)
LLEVELS = 16
CHROMA_EDGES = np.array([-8.0, 0.0, 8.0])
LAYOUT_THRESHOLD = 8.0
CHROMA_THRESHOLD = 4.0

_RGB2YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def _cell_rgb_means(im, n: int) -> np.ndarray:
    rgb = im.convert("RGB")
    if rgb.width < GRID or rgb.height < GRID:  # tiny images: nearest-neighbour up to 8 px a side
        from PIL import Image

        rgb = rgb.resize((max(GRID, rgb.width), max(GRID, rgb.height)), Image.Resampling.NEAREST)
    arr = np.asarray(rgb)
    h, w = arr.shape[:2]
    rows = (np.arange(n + 1) * h) // n
    cols = (np.arange(n + 1) * w) // n
    s = np.add.reduceat(arr, rows[:-1], axis=0, dtype=np.int64)
    s = np.add.reduceat(s, cols[:-1], axis=1, dtype=np.int64)
    counts = np.diff(rows)[:, None] * np.diff(cols)[None, :]
    return s / counts[..., None]


def _ycc(rgb: np.ndarray) -> np.ndarray:
    return rgb @ _RGB2YCC.T


def _dct16() -> np.ndarray:
    n = GRID
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    d = np.cos(np.pi * k * (2 * x + 1) / (2 * n)) * np.sqrt(2 / n)
    d[0] /= np.sqrt(2)
    return d


_D = _dct16()
_LOWPASS = _D[:LOW].T @ _D[:LOW]  # projection onto the low band, per axis


def high_band(y: np.ndarray) -> np.ndarray:
    """(..., 16, 16) luma grid minus its part in DCT frequencies 0..7 x 0..7."""
    return y - _LOWPASS @ y @ _LOWPASS


def features(im) -> np.ndarray:
    return _ycc(_cell_rgb_means(im, GRID))[..., 0]


_CHECKER = (np.add.outer(np.arange(GRID), np.arange(GRID)) % 2) == 0  # the 128 cells recorded


def layout(im) -> tuple[np.ndarray, np.ndarray]:
    """(4x4 mean Y, 4x4x2 mean Cb/Cr)."""
    ycc = _ycc(_cell_rgb_means(im, LGRID))
    return ycc[..., 0], ycc[..., 1:]


def signature_of(im) -> bytes:
    r = np.round(high_band(features(im)), 3)
    value = 0
    for bit in (r > 0)[_CHECKER]:
        value = (value << 1) | int(bit)
    y, c = layout(im)
    lo, hi = y.min(), y.max()
    yq = np.clip(np.floor(np.round(LLEVELS * (y - lo) / max(hi - lo, 1e-9), 3)), 0, LLEVELS - 1).astype(int)
    cq = np.searchsorted(CHROMA_EDGES, np.round(c, 3), side="right")
    for i in range(LGRID):
        for j in range(LGRID):
            value = (value << 8) | (int(yq[i, j]) << 4) | (int(cq[i, j, 0]) << 2) | int(cq[i, j, 1])
    return value.to_bytes(SIGNATURE_BYTES, "big")


def decode(sig: bytes):
    """(16x16 signs, +1/-1, 0 where not recorded), (4x4 luma levels), (4x4x2 colour codes)."""
    if len(sig) != SIGNATURE_BYTES:
        raise ValueError(f"a signature is {SIGNATURE_BYTES} bytes, not {len(sig)}")
    bits = np.unpackbits(np.frombuffer(sig[:16], dtype=np.uint8))
    sq = np.zeros((GRID, GRID))
    sq[_CHECKER] = np.where(bits == 1, 1.0, -1.0)
    lay = np.frombuffer(sig[16:], dtype=np.uint8).reshape(LGRID, LGRID).astype(np.int64)
    return sq, lay >> 4, np.stack([(lay >> 2) & 3, lay & 3], axis=-1)


# ------------------------------------------------------------------------------------ query side

@dataclass(frozen=True, eq=False)
class Probe:
    """A query image reduced once: Y, Cb, Cr on a 64x64 grid (as-is and mirrored) as summed-area tables."""
    tables: np.ndarray  # 2 (as-is, mirrored) x 3 (Y, Cb, Cr) x 65 x 65
    grey: bool
    size: tuple[int, int]


def prepare(im) -> Probe:
    from PIL import Image

    rgb = im if im.mode == "RGB" else im.convert("RGB")
    small = np.asarray(rgb.resize((MICRO, MICRO), Image.Resampling.BOX, reducing_gap=2.0), dtype=np.float64)
    ycc = np.moveaxis(_ycc(small), -1, 0)
    grey = bool(np.abs(ycc[1:]).max() < 2.5)
    planes = np.stack([ycc, ycc[:, :, ::-1]])
    tables = np.zeros((2, 3, MICRO + 1, MICRO + 1))
    tables[:, :, 1:, 1:] = planes.cumsum(-1).cumsum(-2)
    return Probe(tables, grey, rgb.size)


def _edges(n: int, pairs: np.ndarray):
    """Hypotheses 'the query shows the original's [lo, 1-hi] along this axis' -> for each of the n
    cells, its clipped edges in micro units (K, n+1 ... as a, b) and visible fraction."""
    e = np.arange(n + 1) / n
    u = (e[None, :] - pairs[:, :1]) / (1 - pairs[:, :1] - pairs[:, 1:])
    a, b = u[:, :-1], u[:, 1:]
    ac, bc = np.clip(a, 0, 1), np.clip(b, 0, 1)
    return ac * MICRO, bc * MICRO, (bc - ac) / (b - a)


def _interp(t: np.ndarray, pos: np.ndarray, axis: int) -> np.ndarray:
    i = np.clip(np.floor(pos).astype(np.int64), 0, MICRO - 1)
    f = pos - i
    lo, hi = np.take(t, i, axis=axis), np.take(t, i + 1, axis=axis)
    return lo + (hi - lo) * _bcast(f, lo.ndim, axis)


def _bcast(f, ndim, axis):
    axis = axis if axis >= 0 else ndim + axis
    shape = [1] * ndim
    for k, s in enumerate(f.shape):
        shape[axis + k] = s
    return f.reshape(shape)


def _box_means(table: np.ndarray, py: np.ndarray, px: np.ndarray, n: int):
    """Mean of a plane (summed-area `table`, 65x65) over the original's n x n cells for every (y, x)
    hypothesis pair: (Ky, Kx, n, n) means, and visibility (Ky, Kx, n, n)."""
    ay, by, vy = _edges(n, py)
    ax, bx, vx = _edges(n, px)
    # columns: interpolate the table at x edges -> (65, Kx, n) for a and b
    ta = _interp(table, ax, axis=1)
    tb = _interp(table, bx, axis=1)
    colsum = tb - ta  # (65, Kx, n): integral over x of rows 0..r
    ra = _interp(colsum, ay, axis=0)  # (Ky, n, Kx, n)
    rb = _interp(colsum, by, axis=0)
    s = rb - ra
    area = (by - ay)[:, :, None, None] * (bx - ax)[None, None, :, :]
    means = s / np.maximum(area, 1e-9)
    vis = vy[:, :, None, None] * vx[None, None, :, :]
    return means.transpose(0, 2, 1, 3), vis.transpose(0, 2, 1, 3)


def _fill(y: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """Replace cells the query hardly shows (< 25 %) by the nearest shown row/column."""
    vy = vis.max(-1)  # (..., 16): per row
    vx = vis.max(-2)
    rows = np.arange(GRID)
    def nearest(v):
        ok = v >= 0.25
        dist = np.where(ok[..., None, :], np.abs(rows[:, None] - rows[None, :]), 99)
        return dist.argmin(-1)  # (..., 16)
    ry, rx = nearest(vy), nearest(vx)
    y = np.take_along_axis(y, ry[..., :, None].repeat(GRID, -1), axis=-2)
    return np.take_along_axis(y, rx[..., None, :].repeat(GRID, -2), axis=-1)


def _layout_luma_excess(y: np.ndarray, vis: np.ndarray, yq: np.ndarray):
    """y, vis: (..., 4, 4). Fit y = a*u + b (u: the recorded level's interval [q, q+1) on the image's
    own range) robustly, then each cell's distance outside its interval, in query luma units."""
    mask = (vis >= MIN_VISIBLE).astype(np.float64)
    q = yq.astype(np.float64)
    t = np.broadcast_to(q + 0.5, y.shape)
    w = mask
    for _ in range(5):
        sw = np.maximum(w.sum((-1, -2), keepdims=True), 1e-9)
        mt = (w * t).sum((-1, -2), keepdims=True) / sw
        my = (w * y).sum((-1, -2), keepdims=True) / sw
        var = (w * (t - mt) ** 2).sum((-1, -2), keepdims=True)
        a = (w * (t - mt) * (y - my)).sum((-1, -2), keepdims=True) / np.maximum(var, 1e-9)
        a = np.maximum(a, 0.25)
        b = my - a * mt
        u = (y - b) / a
        t = np.clip(u, q, q + 1)
        res = np.abs(u - t) * a
        w = mask / np.maximum(1.0, res / 4.0)
    return np.maximum(0, res - (1 - vis) * PARTIAL_ALLOWANCE) * mask


def _chroma_excess(tables, py, px, cq):
    ec = 0
    for ch in (1, 2):
        c, vis = _box_means(tables[ch], py, px, LGRID)
        q = cq[..., ch - 1]
        clo = np.where(q == 0, -np.inf, CHROMA_EDGES[np.maximum(q - 1, 0)])
        chi = np.where(q == 3, np.inf, CHROMA_EDGES[np.minimum(q, 2)])
        ec = np.maximum(ec, np.maximum(0, np.maximum(clo - c, c - chi)))
    return np.maximum(0, ec - (1 - vis) * PARTIAL_ALLOWANCE) * (vis >= MIN_VISIBLE)


def _evaluate(probe: Probe, mirror: int, py, px, rec):
    """Relative excess per 16x16 cell (1.0 = at its threshold): the worst of the structure sign, the
    layout luma and the layout colour; and the visibility."""
    sq, yq, cq = rec
    t = probe.tables[mirror]
    y, vis = _box_means(t[0], py, px, GRID)
    r = high_band(_fill(y, vis))
    ex = np.maximum(0, -sq * r)
    ex = np.maximum(0, ex - (1 - vis) * PARTIAL_ALLOWANCE) * (vis >= MIN_VISIBLE) / LUMA_THRESHOLD
    y4, vis4 = _box_means(t[0], py, px, LGRID)
    el = _layout_luma_excess(y4, vis4, yq) / LAYOUT_THRESHOLD
    if not probe.grey:
        el = np.maximum(el, _chroma_excess(t, py, px, cq) / CHROMA_THRESHOLD)
    k = GRID // LGRID
    el = np.repeat(np.repeat(el, k, axis=-1), k, axis=-2)
    return np.maximum(ex, el), vis


def _pairs(step: float, centre=None, span=None) -> np.ndarray:
    if centre is None:
        v = np.arange(0, MAX_SIDE + 1e-9, step)
        p = np.array([(a, b) for a in v for b in v if a + b <= MAX_AXIS + 1e-9])
    else:
        d = np.arange(-span, span + 1e-9, step)
        p = np.array([(centre[0] + a, centre[1] + b) for a in d for b in d])
        p = p[(p >= -1e-9).all(1) & (p <= MAX_SIDE + 1e-9).all(1) & (p.sum(1) <= MAX_AXIS + 1e-9)]
        p = np.clip(p, 0, None)
    return p


CROP_PENALTY = 100.0  # score per unit of crop fraction: prefer the least crop that explains the query


def _score(ey, py=None, px=None):
    s = ey.sum((-1, -2))
    if py is not None:
        s = s + CROP_PENALTY * (py.sum(1)[:, None] + px.sum(1)[None, :])
    return s


def _search(probe: Probe, rec):
    """Best (mirror, py, px) over the crop/mirror hypotheses: a 5 % grid of crops per side for both
    orientations, then, from the two best, coordinate descent on each axis at 1.25 % then 0.625 %."""
    coarse = _pairs(0.05)
    starts = []
    for mirror in (0, 1):
        ey, _ = _evaluate(probe, mirror, coarse, coarse, rec)
        score = _score(ey, coarse, coarse)
        i, j = np.unravel_index(np.argmin(score), score.shape)
        starts.append((float(score[i, j]), mirror, coarse[i], coarse[j]))
    best = min(starts, key=lambda s: s[0])
    for score, mirror, py, px in sorted(starts, key=lambda s: s[0])[:2]:
        for step in (0.0125, 0.00625):
            for _ in range(2):
                fy = _pairs(step, py, 2 * step)
                ey, _ = _evaluate(probe, mirror, fy, px[None], rec)
                s1 = _score(ey, fy, px[None])[:, 0]
                py = fy[int(np.argmin(s1))]
                fx = _pairs(step, px, 2 * step)
                ey, _ = _evaluate(probe, mirror, py[None], fx, rec)
                s2 = _score(ey, py[None], fx)[0]
                px = fx[int(np.argmin(s2))]
                score = float(s2.min())
        if score < best[0]:
            best = (score, mirror, py, px)
    return best[1:]


_ROWS = ("upper", "middle", "lower")
_COLS = ("left", "centre", "right")


def _region(i: float, j: float) -> str:
    r, c = _ROWS[min(2, int(i * 3 / GRID))], _COLS[min(2, int(j * 3 / GRID))]
    if r == "middle":
        return "centre" if c == "centre" else c
    if c == "centre":
        return {"upper": "top", "lower": "bottom"}[r]
    return f"{r} {c}"


ALLOWED_CELLS = 3  # a few 16x16 blocks may exceed their tolerance (crop edges, a caption's strokes)
MIN_AGREEMENT = 0.7  # sum(sign * S) / sum(|S|) over the recorded structure cells the query shows


def _agreement(probe: Probe, mirror: int, py, px, rec) -> float:
    """Positive evidence: how much of the query's high-band structure agrees in sign with the record
    (1 = all of it, 0 = chance). A flat or saturated query has little structure to disagree with, so
    the absence of differing blocks alone is not enough."""
    sq = rec[0]
    y, vis = _box_means(probe.tables[mirror][0], py[None], px[None], GRID)
    r = high_band(_fill(y, vis))[0, 0]
    use = (sq != 0) & (vis[0, 0] >= MIN_VISIBLE)
    total = np.abs(r[use]).sum()
    return float((sq[use] * r[use]).sum() / total) if total > 1e-9 else 0.0


@dataclass(frozen=True, eq=False)
class SecondStage:
    """Is the query the recorded picture?

    `diff` is per recorded 16x16 block (rows top to bottom, the original's orientation): how far the
    query lies outside what was recorded, as a multiple of the tolerance (> 1 = differs): the worst of
    the block's structure sign, its 4x4 layout cell's brightness and colour. NaN where the query does
    not show that block (cropped away). A candidate that does not confirm is a derivative of the record."""
    confirmed: bool
    score: float             # the worst block, as a multiple of its tolerance
    threshold: float         # 1.0: a block differs when its diff exceeds this
    cells_allowed: int       # confirmed iff cells_differing <= cells_allowed
    mirrored: bool
    crop: tuple[float, float, float, float]  # fractions of the original cut off (left, top, right, bottom)
    alignment: str           # the same in words: "as recorded", "mirrored, cropped left 10.0%" …
    colour_compared: bool    # False for a greyscale query (colour is not compared)
    cells_compared: int
    cells_differing: int
    agreement: float         # structure sign agreement, 1 = all, 0 = chance; confirmed needs >= MIN_AGREEMENT
    regions: tuple[str, ...]  # where the differing blocks are, most different first: "centre", "upper left" …
    diff: np.ndarray = field(repr=False)
    summary: str = ""


def _describe_alignment(mirror: int, crop) -> str:
    parts = ["mirrored"] if mirror else []
    cut = [f"{name} {v:.1%}" for name, v in zip(("left", "top", "right", "bottom"), crop) if v >= 0.005]
    if cut:
        parts.append("cropped " + ", ".join(cut))
    return ", ".join(parts) or "as recorded"


def confirm(probe: Probe, recorded_signature: bytes) -> SecondStage:
    """Compare a prepared query with a recorded signature: search mirror x crop alignments, fit the
    brightness/contrast, and report which blocks differ beyond re-encoding/resizing/tone noise."""
    rec = decode(recorded_signature)
    mirror, py, px = _search(probe, rec)
    rel, vis = _evaluate(probe, mirror, py[None], px[None], rec)
    rel, vis = rel[0, 0], vis[0, 0]
    seen = vis >= MIN_VISIBLE
    rel = np.where(seen, rel, np.nan)
    differing = np.nan_to_num(rel) > 1.0
    n_diff = int(differing.sum())
    n_seen = int(seen.sum())
    score = float(np.nanmax(rel)) if n_seen else float("inf")
    crop = (float(px[0]), float(py[0]), float(px[1]), float(py[1]))
    weights: dict[str, float] = {}
    for i, j in zip(*np.nonzero(differing)):
        name = _region(i + 0.5, j + 0.5)
        weights[name] = weights.get(name, 0.0) + float(rel[i, j])
    regions = tuple(n for n, _ in sorted(weights.items(), key=lambda kv: -kv[1]))
    alignment = _describe_alignment(mirror, crop)
    agreement = _agreement(probe, mirror, py, px, rec)
    confirmed = n_diff <= ALLOWED_CELLS and n_seen >= GRID * GRID // 2 and agreement >= MIN_AGREEMENT
    grey = "; greyscale copy, colour not compared" if probe.grey else ""
    if confirmed:
        summary = f"same picture: {n_seen - n_diff} of {n_seen} visible blocks within tolerance ({alignment}{grey})"
    else:
        where = f"around the {', '.join(regions[:3])}" if regions else "(none beyond tolerance)"
        summary = (f"differs in {n_diff} of {n_seen} blocks {where} (worst {score:.1f}x tolerance, structure "
                   f"agreement {agreement:.0%}; {alignment}{grey})")
    return SecondStage(confirmed, score, 1.0, ALLOWED_CELLS, bool(mirror), crop, alignment, not probe.grey,
                       n_seen, n_diff, agreement, regions, rel, summary)


def cell_boxes(result: SecondStage, size: tuple[int, int]) -> list[list[tuple[float, float, float, float]]]:
    """Where each recorded 8x8 cell lies in the query (pixel boxes, clipped), given the alignment."""
    w, h = size
    l, t, r, b = result.crop
    boxes = []
    for i in range(GRID):
        row = []
        for j in range(GRID):
            x0 = (j / GRID - l) / (1 - l - r)
            x1 = ((j + 1) / GRID - l) / (1 - l - r)
            y0 = (i / GRID - t) / (1 - t - b)
            y1 = ((i + 1) / GRID - t) / (1 - t - b)
            if result.mirrored:
                x0, x1 = 1 - x1, 1 - x0
            row.append((max(0, x0) * w, max(0, y0) * h, min(1, x1) * w, min(1, y1) * h))
        boxes.append(row)
    return boxes


def explain_png(query_im, result: SecondStage, out_path) -> None:
    """Write a PNG: the query with differing blocks outlined (left), a heat map of the per-block
    difference on the same layout (right), and the one-line summary as a caption."""
    from PIL import Image, ImageDraw, ImageFont

    q = query_im.convert("RGB")
    scale = 480 / max(q.size)
    q = q.resize((max(1, round(q.width * scale)), max(1, round(q.height * scale))), Image.Resampling.LANCZOS)
    w, h = q.size
    heat = Image.new("RGB", (w, h), (40, 40, 40))
    left = q.copy()
    dl, dh = ImageDraw.Draw(left), ImageDraw.Draw(heat)
    boxes = cell_boxes(result, (w, h))
    for i in range(GRID):
        for j in range(GRID):
            x0, y0, x1, y1 = boxes[i][j]
            if x1 <= x0 or y1 <= y0:
                continue
            v = result.diff[i, j]
            if np.isnan(v):
                colour = (90, 90, 90)
            else:
                f = float(min(1.0, v / 3.0))
                colour = (round(255 * f), round(200 * (1 - f)), 60)
            dh.rectangle((x0, y0, x1 - 1, y1 - 1), fill=colour, outline=(20, 20, 20))
            if not np.isnan(v):
                if v > 1.0:
                    dh.text((x0 + 2, y0 + 1), f"{v:.0f}", fill=(255, 255, 255))
                    dl.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(255, 0, 0), width=3)
    font = ImageFont.load_default(size=14)
    caption = ("CONFIRMED: " if result.confirmed else "DERIVATIVE: ") + result.summary
    lines, line = [], ""
    for word in caption.split():
        trial = (line + " " + word).strip()
        if font.getlength(trial) > 2 * w + 10 and line:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    out = Image.new("RGB", (2 * w + 10, h + 10 + 18 * len(lines)), (255, 255, 255))
    out.paste(left, (0, 0))
    out.paste(heat, (w + 10, 0))
    d = ImageDraw.Draw(out)
    for k, text in enumerate(lines):
        d.text((4, h + 6 + 18 * k), text, fill=(0, 0, 0), font=font)
    out.save(out_path, "PNG")
