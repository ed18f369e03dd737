"""Second-stage signature: is a perceptual candidate *the same picture*, or a derivative of it?

The 64-bit pHash finds candidates; it cannot authorise. A recoloured or darkened outfit, a pasted face
or a replaced background move it by 0-12 bits, and smooth low-frequency shading gives any photo a
chosen pHash. This 38-byte signature, recorded beside the pHash (imprint = pixel_hash[:16] + pHash +
signature, 62 bytes: two log words), is checked against every candidate by `confirm`.

SIGNATURE v4 (38 bytes), from the image as published (Pillow decode, no EXIF rotation, convert("RGB")):
  Grid(n): cell (i, j), row i from the top, column j from the left, covers pixel rows
    floor(i*H/n) .. floor((i+1)*H/n)-1 and columns floor(j*W/n) .. floor((j+1)*W/n)-1 (images under
    16 px a side: that side first enlarged to 16 by nearest neighbour). R, G, B = the cell's mean values.
    Y = 0.299R + 0.587G + 0.114B;  Cb = -0.168736R - 0.331264G + 0.5B;  Cr = 0.5R - 0.418688G - 0.081312B.
    Grid(8)'s cell (i, j) is Grid(16)'s cells (2i..2i+1, 2j..2j+1) exactly (the same pixel boundaries).
    round(v) = v rounded to 3 decimals, so that float noise cannot flip a flat image's bits.
    Bits are numbered from the most significant bit of byte 0.
  Bits 0-11, size: W mod 61 (6 bits), then H mod 61 (6 bits).
  Bits 12-239, brightness: Y on Grid(8); Ymin, Ymax over its 64 cells; x = (Y - Ymin) / (Ymax - Ymin)
    (0 if equal); per cell, row-major, MSB first: an inner cell (1 <= i, j <= 6) 4 bits,
    min(15, floor(round(16 x))); a border cell (row or column 0 or 7) 3 bits, min(7, floor(round(8 x))).
    (36 x 4 + 28 x 3 = 228 bits: border cells are where crops cut, so finer levels there say little.)
  Bit 240, neutral: 1 iff every Grid(8) cell has |round(Cb)| <= 2 and |round(Cr)| <= 2 (a greyscale picture).
  Bits 241-303, one extra bit for each Grid(8) cell k = 8i + j, k = 0..62, in that order (cell 63 has none),
    bit = 1 iff round(D) >= 0, where, with "even" meaning i + j even:
    - neutral = 0 (colour): D = C(i, j) - C(partner), C = Cb for even cells and Cr for odd ones, partner =
      (i, j+1), or (i+1, j) in the last column: how the colour changes from this cell to the next;
    - neutral = 1 (grey): Y on Grid(16); even cells: D = (left half - right half) = (Y(2i, 2j) + Y(2i+1, 2j)
      - Y(2i, 2j+1) - Y(2i+1, 2j+1)) / 2; odd cells: D = (top half - bottom half) = (Y(2i, 2j) + Y(2i, 2j+1)
      - Y(2i+1, 2j) - Y(2i+1, 2j+1)) / 2: the cell's own structure, which its mean cannot show.

CHECK (`prepare` once per query, `confirm` per candidate). Levels below are in 16ths of the range; a
border cell's interval is two of them wide.
  At the recorded size (the query's W and H equal the recorded ones mod 61): the query's own cells
  are the recorded cells, so no alignment is searched. Each cell's exact mean, range-normalised like the
  record (a linear tone change needs no fit), must lie within LEVEL_TOLERANCE levels and LUMA_THRESHOLD
  grey levels of its interval, as is or mirrored; a query whose cells span under FLAT_RANGE grey levels
  is never confirmed. A caption: when the query shows one thin horizontal band (at most OVERLAY_MAX of
  the height) of near-white pixels edged with near-black ones (or the reverse), those edge pixels and
  their 1-px rim are left out of the cell means and the check is also tried on what remains
  (`_overlay`); a cell covered beyond OVERLAY_COVERED is not compared. Only the strokes are left out, so
  a caption cannot hide a changed picture under it.
  At another size: the query is reduced to a 128x128 Y/Cb/Cr grid (summed-area tables, as is and
  mirrored). Over mirror x crop hypotheses (up to 10 % off any side, 20 % per axis; a 5 % grid, then
  coordinate descent to 0.3 %) the cells are recomputed from the query; cells the query shows under 75 %
  of are not compared. Brightness: a robust linear tone fit (query Y = a * level + b, a >= MIN_SLOPE grey
  levels per level, so a flat or low-contrast query cannot fit any layout), then each cell's distance
  outside its interval, within LUMA_THRESHOLD (plus PARTIAL_ALLOWANCE x the fraction of a partly cropped
  cell that is missing). A query shown as recorded is first checked on its exact cell means.
  Extra bits, both cases: how far the query's D lies on the wrong side of 0 (colour: Cb/Cr units, within
  CHROMA_REL x the query's median |D|, clipped to [CHROMA_MIN, CHROMA_THRESHOLD]; not compared for a
  greyscale query; grey: grey levels within STRUCT_THRESHOLD, less SHIFT_FACTOR x what moving the
  alignment by SHIFT_SLACK changes in D); a neutral record also requires a colour query's cells to stay
  within NEUTRAL of the query's tint, a straight line in brightness per channel (a sepia or warm copy
  keeps it, a recolour does not). Confirmed iff *every* compared cell is within tolerance and at least
  half the 64 cells are compared. Anything else is a derivative of the record, and `diff` says where.

WHY (measured with scripts/bench_recall.py, 56 photos, 448 seeded derivatives): v3 (32 bytes) let 16
derivatives confirm: recolours of the near-black Hubble field (its colour comparisons are tiny, the
3-unit tolerance swallowed them), background borders the crop search explained as 2-4 % crops, patches
of the same tone inside a 3-bit level. The imprint's first log word had 8 unused bytes, so 6 more
bytes cost only calldata (a batch stays under 4,000 gas an image): the size (a same-size query needs no
crop search, so a replaced border shows), a 4th level bit for the 36 inner cells, and a colour
tolerance scaled to the picture's own colours. v4: 1 derivative confirms (resized to 80 %: 7, v3 19);
copies 95.7 % (v3 97 %): captions, strong tone curves and crops that cut a strong edge read as
derivatives, the safe side. A caption's strokes left out and a tinted greyscale record won back copies
without letting a bench derivative through; gamma curves at the recorded size won 4 more but let local
brightness edits through (red team: 39 of 2,400 more), so they were taken out.

LIMITS (honest): 8x8 cells, 16 levels inside, 8 on the border, one colour comparison per cell. An edit
that keeps every cell in its interval and reverses no comparison passes:
- retouching aimed at coarse means (scripts/bench_recall.py "retouched"): a face pasted with frequency
  separation, whose low frequencies are the picture's own (68 of 112 confirm), and a colour turned with
  its brightness kept (7 of 33): 38 bytes of means carry neither detail nor absolute colour;
- by the same means, another photo's detail over the record's layout in faint blocks (red team: 68 of 96
  authorised with each cell's mean set exactly; the bench's blurred version 6 of 56);
- a near-black region recoloured; a derivative that is also resized (no same-size check), whose replaced
  border within the crop search's reach (10 % a side) then reads as a crop;
- the colour tolerance comes from the query (its median comparison, capped at v3's 3 units), so a query
  can raise it as far as that cap;
- a crop that cuts a multiple of 61 px along one side keeps the size residue and is judged as a
  same-size picture: a missed copy.
The 8x8 layout is what the pHash's low band imprints, so a forger who shades another photo to the
target's pHash also moves toward its levels; the tight tolerance, the extra bits and MIN_SLOPE stopped
all 56 bench forgeries, but a forger who knows the algorithm can aim at both. For stronger guarantees
verify the exact pixel hash, or C2PA manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SIGNATURE_BYTES = 38
SIZE_BITS = 6  # width and height, each modulo SIZE_MODULUS in 6 bits
SIZE_MODULUS = 61  # a prime: halving a 512- or 1024-px picture changes its residue (modulo 64 would not)
GRID = 8  # brightness cells per side
LEVELS = 16  # brightness levels of an inner cell (4 bits); a border cell has 8 (3 bits, two of these wide)
MIN_SLOPE = 1.25  # tone fit: at least this many grey levels per level (a range of 20 over the 16 levels)
LEVEL_TOLERANCE = 1.0  # at the recorded size: levels (of 16) a cell may lie outside its interval
FLAT_RANGE = 10.0  # at the recorded size: a query whose cell brightness spans less is never confirmed
MICRO = 128
MAX_SIDE = 0.10
MAX_AXIS = 0.20
MIN_VISIBLE = 0.75  # a cell is compared only where the query shows at least this much of it
PARTIAL_ALLOWANCE = 10.0  # extra grey levels per unit of a cell cropped away
LUMA_THRESHOLD = 4.0  # grey levels outside the recorded level interval, after the tone fit
CHROMA_THRESHOLD = 3.0  # Cb/Cr units by which a recorded colour comparison may be reversed (or neutral exceeded)
CHROMA_REL = 1.5  # ... or less: this many times the query's median |colour comparison| (a dark, dull picture's
CHROMA_MIN = 0.75  # comparisons are small, so are the edits that reverse them), but never under this
ALLOWED_CELLS = 0  # every compared cell must be within tolerance
CROP_PENALTY = 30.0  # score per unit of crop fraction: prefer the least crop that explains the query
DIRECT_SHARE = 0.5  # the direct check (exact cell means, no realignment) allows this share of each tolerance

NEUTRAL = 2.0  # a record is neutral (greyscale) when every 8x8 cell's |Cb| and |Cr| are at most this
STRUCT_THRESHOLD = 4.0  # grey levels by which a neutral record's half-cell comparison may be reversed
SHIFT_SLACK = 0.01  # realigned half-cell comparisons tolerate what a shift of this much of a side changes,
SHIFT_FACTOR = 2.0  # times this
K_EXTRA = GRID * GRID - 1  # cells with an extra bit: all but the last

# the extra bit of cell (i, j), k = 8i + j < 63. Colour record: its Cb (i + j even) or Cr (odd) minus the
# same of its partner cell: the next cell to the right, or in the last column the cell below.
# Neutral record: its left half minus its right half on Grid(16) (i + j even), or top half minus bottom half.
_PAR = (np.add.outer(np.arange(GRID), np.arange(GRID)) % 2).astype(bool)  # True: Cr / top-bottom
_PI = np.array([[i if j < GRID - 1 else i + 1 for j in range(GRID)] for i in range(GRID)]).clip(0, GRID - 1)
_PJ = np.array([[j + 1 if j < GRID - 1 else j for j in range(GRID)] for i in range(GRID)])
_HAS = np.arange(GRID * GRID).reshape(GRID, GRID) < K_EXTRA
_BORDER = np.ones((GRID, GRID), dtype=bool)
_BORDER[1:-1, 1:-1] = False
_WIDTH = np.where(_BORDER, 2, 1)  # a cell's level interval, in 16ths of the range
_BITS = np.where(_BORDER, 3, 4).flatten()


def _chroma_diff(cb, cr):
    """Per cell: Cb (or Cr) minus its partner's, for planes of shape (..., 8, 8)."""
    return np.where(_PAR, cr - cr[..., _PI, _PJ], cb - cb[..., _PI, _PJ])


def _half_diff(y16):
    """Per 8x8 cell: left minus right half (i + j even), or top minus bottom half, for (..., 16, 16)."""
    a = y16[..., 0::2, 0::2] + y16[..., 1::2, 0::2]  # left halves (x2)
    b = y16[..., 0::2, 1::2] + y16[..., 1::2, 1::2]
    c = y16[..., 0::2, 0::2] + y16[..., 0::2, 1::2]  # top halves
    d = y16[..., 1::2, 0::2] + y16[..., 1::2, 1::2]
    return np.where(_PAR, c - d, a - b) / 2


_RGB2YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
FINE = 2 * GRID


def _cell_ranges(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid(16)'s source pixel ranges [start, end) along a side of n pixels: floor(k*n/16) .. floor((k+1)*n/16),
    or, for a side under 16 px (enlarged to 16 by nearest neighbour), the one source pixel Pillow's NEAREST
    picks for enlarged pixel k: the same means, without materialising the enlargement."""
    if n >= FINE:
        edges = (np.arange(FINE + 1) * n) // FINE
        return edges[:-1], edges[1:]
    from PIL import Image

    ramp = Image.fromarray(np.arange(n, dtype=np.int32)[None, :], "I")
    src = np.asarray(ramp.resize((FINE, 1), Image.Resampling.NEAREST))[0].astype(np.int64)
    return src, src + 1


def cell_means(im) -> tuple[np.ndarray, np.ndarray]:
    """(RGB means on Grid(8), RGB means on Grid(16)) from one pass over the pixels: Grid(8)'s cell
    boundaries floor(i*H/8) are Grid(16)'s floor(2i*H/16), so its sums are 2x2 blocks of Grid(16)'s."""
    rgb = im if im.mode == "RGB" else im.convert("RGB")
    arr = np.asarray(rgb)
    h, w = arr.shape[:2]
    r0, r1 = _cell_ranges(h)
    c0, c1 = _cell_ranges(w)
    s = np.empty((FINE, FINE, 3), dtype=np.int64)
    for i in range(FINE):  # exact integer sums, a row band at a time (no full-size int64 copy)
        band = arr[r0[i] : r1[i]].sum(axis=0, dtype=np.uint64)
        csum = np.concatenate([np.zeros((1, 3), dtype=np.uint64), np.cumsum(band, axis=0, dtype=np.uint64)])
        s[i] = (csum[c1] - csum[c0]).astype(np.int64)
    counts = (r1 - r0)[:, None] * (c1 - c0)[None, :]
    s8 = s.reshape(GRID, 2, GRID, 2, 3).sum(axis=(1, 3))
    c8 = counts.reshape(GRID, 2, GRID, 2).sum(axis=(1, 3))
    return s8 / c8[..., None], s / counts[..., None]


def _ycc(rgb: np.ndarray) -> np.ndarray:
    return rgb @ _RGB2YCC.T


def levels_of(y: np.ndarray) -> np.ndarray:
    """Per Grid(8) cell, the low edge of its level interval in 16ths of the range: inner cells
    floor(16 x), border cells 2 floor(8 x), x = (Y - Ymin) / (Ymax - Ymin) rounded to 3 decimals."""
    lo, hi = y.min(), y.max()
    x = (y - lo) / max(hi - lo, 1e-9)
    inner = np.clip(np.floor(np.round(LEVELS * x, 3)), 0, LEVELS - 1)
    border = 2 * np.clip(np.floor(np.round(LEVELS // 2 * x, 3)), 0, LEVELS // 2 - 1)
    return np.where(_BORDER, border, inner).astype(int)


def signature_of(im, means=None) -> bytes:
    """The 38-byte signature; `means` = cell_means(im) when already computed."""
    m8, m16 = means if means is not None else cell_means(im)
    ycc = _ycc(m8)
    value = ((im.size[0] % SIZE_MODULUS) << SIZE_BITS) | (im.size[1] % SIZE_MODULUS)
    for q, bits in zip(levels_of(ycc[..., 0]).flatten(), _BITS):
        value = (value << int(bits)) | (int(q) >> (4 - int(bits)))
    neutral = bool(np.abs(np.round(ycc[..., 1:], 3)).max() <= NEUTRAL)
    extra = _half_diff(_ycc(m16)[..., 0]) if neutral else _chroma_diff(ycc[..., 1], ycc[..., 2])
    value = (value << 1) | int(neutral)
    for b in (np.round(extra, 3) >= 0).flatten()[:K_EXTRA]:
        value = (value << 1) | int(b)
    return value.to_bytes(SIGNATURE_BYTES, "big")


def decode(sig: bytes):
    """(8x8 level interval low edges in 16ths (border cells even), 8x8 extra bits (-1 for the last
    cell), neutral)."""
    if len(sig) != SIGNATURE_BYTES:
        raise ValueError(f"a signature is {SIGNATURE_BYTES} bytes, not {len(sig)}")
    v = int.from_bytes(sig, "big")
    eb = np.array([(v >> (K_EXTRA - 1 - k)) & 1 for k in range(K_EXTRA)] + [-1]).reshape(GRID, GRID)
    v >>= K_EXTRA
    neutral = bool(v & 1)
    v >>= 1
    lv = []
    for bits in _BITS[::-1]:
        lv.append((v & ((1 << int(bits)) - 1)) << (4 - int(bits)))
        v >>= int(bits)
    return np.array(lv[::-1]).reshape(GRID, GRID), eb, neutral


def recorded_size(sig: bytes) -> tuple[int, int]:
    """(width, height) modulo 61 of the picture the signature was made from."""
    if len(sig) != SIGNATURE_BYTES:
        raise ValueError(f"a signature is {SIGNATURE_BYTES} bytes, not {len(sig)}")
    v = int.from_bytes(sig, "big") >> (SIGNATURE_BYTES * 8 - 2 * SIZE_BITS)
    return v >> SIZE_BITS, v & ((1 << SIZE_BITS) - 1)


@dataclass(frozen=True, eq=False)
class Probe:
    """A query image reduced once: Y, Cb, Cr on a 128x128 grid (as-is and mirrored) as summed-area tables."""

    tables: np.ndarray  # 2 (as-is, mirrored) x 3 (Y, Cb, Cr) x 129 x 129
    grey: bool
    size: tuple[int, int]
    exact: np.ndarray | None = None  # the query's own Y, Cb, Cr means on Grid(8), computed as the recorder does
    exact_y16: np.ndarray | None = None  # and its Y means on Grid(16)
    ctol: float = CHROMA_THRESHOLD  # Cb/Cr units a colour comparison may be reversed by, for this query
    image: object = field(default=None, repr=False)  # the RGB query, for the caption search (run on demand)
    _found: dict = field(default_factory=dict, repr=False)

    def caption(self) -> Caption | None:
        """The caption-like overlay `_overlay` finds in the query (searched once, when first asked)."""
        if "caption" not in self._found:
            self._found["caption"] = None if self.image is None else _overlay(self.image)
        return self._found["caption"]


@dataclass(frozen=True)
class Caption:
    """A caption-like overlay and the query's cell means without its strokes."""

    rows: tuple[int, int]  # pixel rows [y0, y1) of the band
    exact: np.ndarray  # Y, Cb, Cr on Grid(8) without the strokes
    exact_y16: np.ndarray  # Y on Grid(16) without the strokes (NaN: a Grid(16) cell mostly covered)
    share: np.ndarray  # per Grid(8) cell, the share of its pixels left out


def prepare(im, means=None) -> Probe:
    from PIL import Image

    rgb = im if im.mode == "RGB" else im.convert("RGB")
    small = np.asarray(rgb.resize((MICRO, MICRO), Image.Resampling.BOX, reducing_gap=2.0), dtype=np.float64)
    ycc = np.moveaxis(_ycc(small), -1, 0)
    grey = bool(np.abs(ycc[1:]).max() < 2.5)
    planes = np.stack([ycc, ycc[:, :, ::-1]])
    tables = np.zeros((2, 3, MICRO + 1, MICRO + 1))
    tables[:, :, 1:, 1:] = planes.cumsum(-1).cumsum(-2)
    m8, m16 = means if means is not None else cell_means(rgb)
    exact = _ycc(m8)
    typical = float(np.median(np.abs(_chroma_diff(exact[..., 1], exact[..., 2]))[_HAS]))
    ctol = float(np.clip(CHROMA_REL * typical, CHROMA_MIN, CHROMA_THRESHOLD))
    return Probe(tables, grey, rgb.size, exact, _ycc(m16)[..., 0], ctol, rgb)


OVERLAY_WHITE, OVERLAY_DARK = 215, 70  # caption strokes: near-white or near-black pixels (luma) ...
OVERLAY_ROW = 0.03  # ... touching the other kind within 2 px on at least this share of a row ...
OVERLAY_MAX = 0.08  # ... in one band at most this share of the height, with hardly any such rows elsewhere
OVERLAY_SHARE = 0.3  # a Grid(8) cell whose pixels the strokes cover beyond this share differs (a halftone
# patch is all "strokes": it may not hide a picture); a Grid(16) cell over 60 % covered has no half-comparison


def _near(b: np.ndarray, reach: int = 2) -> np.ndarray:
    """`b` grown by `reach` pixels along rows and columns."""
    out = b.copy()
    for s in range(1, reach + 1):
        out[:, s:] |= b[:, :-s]
        out[:, :-s] |= b[:, s:]
        out[s:] |= b[:-s]
        out[:-s] |= b[s:]
    return out


def _overlay(rgb) -> Caption | None:
    """A caption-like overlay: a thin horizontal band of near-white strokes edged with near-black (or the
    reverse), found on the query alone, and the query's cell means without the stroke pixels (near-white
    or near-black, within 2 px of the other kind) and their 1-px rim. Only those pixels are left out, the
    rest of each cell is still compared, and a cell they cover beyond OVERLAY_SHARE differs."""
    if rgb.width < FINE or rgb.height < FINE:
        return None
    arr = np.asarray(rgb)
    h, w = arr.shape[:2]
    y = np.asarray(rgb.convert("L"))  # Pillow's luma: R*299/1000 + G*587/1000 + B*114/1000
    white, dark = y >= OVERLAY_WHITE, y <= OVERLAY_DARK
    edge = (white & _near(dark)) | (dark & _near(white))
    on = edge.mean(1) >= OVERLAY_ROW
    if not on.any():
        return None
    idx = np.flatnonzero(on)
    gap = max(2, h // 200)
    runs, start = [], idx[0]
    for a, b in zip(idx[:-1], idx[1:]):
        if b - a > gap:
            runs.append((start, a + 1))
            start = b
    runs.append((start, idx[-1] + 1))
    y0, y1 = max(runs, key=lambda r: on[r[0] : r[1]].sum())
    if y1 - y0 < 3 or y1 - y0 > OVERLAY_MAX * h or on.sum() - on[y0:y1].sum() > 0.01 * h:
        return None
    pad = max(2, (y1 - y0) // 3)
    r0, r1 = max(0, y0 - pad), min(h, y1 + pad)
    covered = np.zeros((h, w), dtype=bool)
    covered[r0:r1] = _near(edge[r0:r1]) & _near(white[r0:r1] | dark[r0:r1], 1)  # strokes and their 1-px rim
    keep = ~covered
    r0s, r1s = _cell_ranges(h)
    c0s, c1s = _cell_ranges(w)
    s = np.zeros((FINE, FINE, 3))
    n = np.zeros((FINE, FINE))
    for i in range(FINE):  # sums and counts of the pixels kept, a Grid(16) row band at a time
        k = keep[r0s[i] : r1s[i]]
        band = (arr[r0s[i] : r1s[i]] * k[..., None]).sum(axis=0, dtype=np.float64)
        cb, ck = np.cumsum(band, axis=0), np.cumsum(k.sum(axis=0))
        cb, ck = np.concatenate([np.zeros((1, 3)), cb]), np.concatenate([[0], ck])
        s[i], n[i] = cb[c1s] - cb[c0s], ck[c1s] - ck[c0s]
    counts = (r1s - r0s)[:, None] * (c1s - c0s)[None, :]
    m16 = np.where((n > 0.4 * counts)[..., None], s / np.maximum(n, 1)[..., None], np.nan)
    s8 = s.reshape(GRID, 2, GRID, 2, 3).sum(axis=(1, 3))
    n8 = n.reshape(GRID, 2, GRID, 2).sum(axis=(1, 3))
    c8 = counts.reshape(GRID, 2, GRID, 2).sum(axis=(1, 3))
    m8 = np.where((n8 > 0)[..., None], s8 / np.maximum(n8, 1)[..., None], np.nan)
    return Caption((int(y0), int(y1)), _ycc(m8), _ycc(m16)[..., 0], 1 - n8 / c8)


def _tint_excess(cb, cr, y16, ctol):
    """A greyscale record's colour query: per cell, how far its colour strays from the picture's tint
    (beyond NEUTRAL), in tolerances. The tint is fitted as a straight line in brightness per channel: a
    tinted copy (sepia, a warm white balance: R x 1.08, B x 0.9 gives a grey pixel colour in proportion to
    its brightness) keeps every cell on it; a recoloured outfit does not."""
    y = (y16[..., 0::2, 0::2] + y16[..., 1::2, 0::2] + y16[..., 0::2, 1::2] + y16[..., 1::2, 1::2]) / 4
    y = np.broadcast_to(y, np.shape(cb))
    ok = ~(np.isnan(y) | np.isnan(cb) | np.isnan(cr))
    dev = np.zeros(np.shape(cb))
    for c in (cb, cr):
        c = np.broadcast_to(c, y.shape)
        w = ok.astype(np.float64)
        n = np.maximum(w.sum((-1, -2), keepdims=True), 1)
        yz, cz = np.where(ok, y, 0), np.where(ok, c, 0)
        my, mc = (yz * w).sum((-1, -2), keepdims=True) / n, (cz * w).sum((-1, -2), keepdims=True) / n
        var = (w * (yz - my) ** 2).sum((-1, -2), keepdims=True)
        slope = (w * (yz - my) * (cz - mc)).sum((-1, -2), keepdims=True) / np.maximum(var, 1e-9)
        dev = np.maximum(dev, np.abs(c - (mc + slope * (y - my))))
    return np.where(ok, np.maximum(0, dev - NEUTRAL) / ctol, np.nan)


def _extra_excess(eb, neutral, grey, cb, cr, y16, ctol=CHROMA_THRESHOLD):
    """Per 8x8 cell, how far (Cb/Cr units, or grey levels) the query lies outside what the extra bits and
    the neutral flag say; divided by their thresholds."""
    out = 0.0
    if neutral:
        d = _half_diff(y16)
        out = np.where(_HAS, np.where(eb == 1, np.maximum(0, -d), np.maximum(0, d)), 0) / STRUCT_THRESHOLD
        if not grey:
            out = np.maximum(out, _tint_excess(cb, cr, y16, ctol))
    elif not grey:
        d = _chroma_diff(cb, cr)
        out = np.where(_HAS, np.where(eb == 1, np.maximum(0, -d), np.maximum(0, d)), 0) / ctol
    return out


def _direct(probe: Probe, rec, exact_size: bool = False, mirror: bool = False, uncovered: bool = False) -> np.ndarray | None:
    """The query as it is (no realignment), with its exact cell means, against the record: per 8x8
    cell the excess over tolerance (<= 1 within); None when it cannot be judged this way. Levels are
    range-normalised, so linear brightness/contrast changes need no fit; a flat query (range under
    MIN_SLOPE grey levels per level) is never judged the same picture here. `exact_size`: the query has
    the recorded width and height, so its cells are the recorded cells: a cell must also lie within
    LEVEL_TOLERANCE levels of its interval, and only a range under FLAT_RANGE is too flat to judge.
    `uncovered`: the means without a caption's strokes; a cell they cover beyond OVERLAY_SHARE differs."""
    caption = probe.caption() if uncovered else None
    if uncovered and caption is None:
        return None
    e, y16 = (caption.exact, caption.exact_y16) if caption is not None else (probe.exact, probe.exact_y16)
    if e is None:
        return None
    lv, eb, neutral = rec
    if mirror:
        e, y16 = e[:, ::-1], y16[:, ::-1]
    y = e[..., 0]
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    if hi - lo < (FLAT_RANGE if exact_size else MIN_SLOPE * LEVELS):
        return None
    unit = (hi - lo) / LEVELS  # grey levels per level
    x = LEVELS * (y - lo) / (hi - lo)
    outside = np.maximum(0.0, np.maximum(lv - x, x - (lv + _WIDTH)))
    rel = outside * unit / LUMA_THRESHOLD
    if exact_size:
        rel = np.maximum(rel, outside / LEVEL_TOLERANCE)
    ex = _extra_excess(eb, neutral, probe.grey, e[..., 1], e[..., 2], y16, probe.ctol)
    rel = np.fmax(rel, ex)  # a comparison the strokes left undefined (NaN) does not erase the other
    if caption is not None:
        share = caption.share[:, ::-1] if mirror else caption.share
        rel = np.fmax(rel, share / OVERLAY_SHARE)
    return rel


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
    """Mean of a plane (summed-area `table`, 129x129; or planes, P x 129 x 129) over the original's n x n
    cells for every (y, x) hypothesis pair: ([P,] Ky, Kx, n, n) means, and visibility (Ky, Kx, n, n)."""
    ay, by, vy = _edges(n, py)
    ax, bx, vx = _edges(n, px)
    # columns: interpolate the table at x edges -> ([P,] 129, Kx, n) for a and b
    c = table.ndim - 1
    colsum = _interp(table, bx, axis=c) - _interp(table, ax, axis=c)  # integral over x of rows 0..r
    s = _interp(colsum, by, axis=c - 1) - _interp(colsum, ay, axis=c - 1)  # ([P,] Ky, n, Kx, n)
    area = (by - ay)[:, :, None, None] * (bx - ax)[None, None, :, :]
    means = s / np.maximum(area, 1e-9)
    vis = vy[:, :, None, None] * vx[None, None, :, :]
    return np.swapaxes(means, -3, -2), vis.transpose(0, 2, 1, 3)


def _luma_excess(y, vis, yq):
    """Robust fit y = a*u + b, u in the recorded level's interval [q, q+1); distance outside, grey levels."""
    mask = (vis >= MIN_VISIBLE).astype(np.float64)
    q = yq.astype(np.float64)
    t = np.broadcast_to(q + _WIDTH / 2, y.shape)
    w = mask
    for _ in range(5):
        sw = np.maximum(w.sum((-1, -2), keepdims=True), 1e-9)
        mt = (w * t).sum((-1, -2), keepdims=True) / sw
        my = (w * y).sum((-1, -2), keepdims=True) / sw
        var = (w * (t - mt) ** 2).sum((-1, -2), keepdims=True)
        a = (w * (t - mt) * (y - my)).sum((-1, -2), keepdims=True) / np.maximum(var, 1e-9)
        a = np.maximum(a, MIN_SLOPE)
        b = my - a * mt
        u = (y - b) / a
        t = np.clip(u, q, q + _WIDTH)
        res = np.abs(u - t) * a
        w = mask / np.maximum(1.0, res / 2.0)
    return res


def _raw(probe, mirror, py, px, rec):
    lv, eb, neutral = rec
    t = probe.tables[mirror]
    cb = cr = y16 = None
    if probe.grey:
        y, vis = _box_means(t[0], py, px, GRID)
    else:  # the three planes at once
        (y, cb, cr), vis = _box_means(t, py, px, GRID)
    el = _luma_excess(y, vis, lv)
    ex = 0.0
    if neutral or not probe.grey:
        if neutral:
            y16, _ = _box_means(t[0], py, px, FINE)
        ex = _extra_excess(eb, neutral, probe.grey, cb, cr, y16, probe.ctol)
        if not neutral:
            ex = ex * (np.minimum(vis, vis[..., _PI, _PJ]) >= MIN_VISIBLE)
    return el, ex, vis


def _rel(el, ex, vis):
    """Per cell, the worst excess as a multiple of its tolerance (extra bits: already divided; their share of
    the partial-cell allowance is PARTIAL_ALLOWANCE / CHROMA_THRESHOLD tolerances)."""
    r = np.maximum(0, el - (1 - vis) * PARTIAL_ALLOWANCE) / LUMA_THRESHOLD
    r = np.maximum(r, np.maximum(0, ex - (1 - vis) * PARTIAL_ALLOWANCE / CHROMA_THRESHOLD))
    return r * (vis >= MIN_VISIBLE)


def _evaluate(probe, mirror, py, px, rec):
    el, ex, vis = _raw(probe, mirror, py, px, rec)
    return _rel(el, ex, vis), vis


def _score(ey, py=None, px=None):
    s = np.minimum(ey, 10).sum((-1, -2))
    if py is not None:
        s = s + CROP_PENALTY * (py.sum(1)[:, None] + px.sum(1)[None, :])
    return s


def _search(probe, rec, cropped: bool = True):
    if not cropped:  # the picture's full extent: only mirroring is searched
        zero = np.zeros((1, 2))
        scores = [float(_score(_evaluate(probe, m, zero, zero, rec)[0])[0, 0]) for m in (0, 1)]
        return int(np.argmin(scores)), zero[0], zero[0]
    coarse = _pairs(0.05)
    starts = []
    for mirror in (0, 1):
        ey, _ = _evaluate(probe, mirror, coarse, coarse, rec)
        score = _score(ey, coarse, coarse)
        i, j = np.unravel_index(np.argmin(score), score.shape)
        starts.append((float(score[i, j]), mirror, coarse[i], coarse[j]))
    best = min(starts, key=lambda s: s[0])
    score, mirror, py, px = best
    for step in (0.0125, 0.00625, 0.003125):
        for _ in range(2):
            fy = _pairs(step, py, 2 * step)
            ey, _ = _evaluate(probe, mirror, fy, px[None], rec)
            s1 = _score(ey, fy, px[None])[:, 0]
            py = fy[int(np.argmin(s1))]
            fx = _pairs(step, px, 2 * step)
            ey, _ = _evaluate(probe, mirror, py[None], fx, rec)
            s2 = _score(ey, py[None], fx)[0]
            px = fx[int(np.argmin(s2))]
    return mirror, py, px


def _struct_slack(probe, mirror, py, px, rec):
    """A neutral record's extra excess at the found alignment, less what a shift of SHIFT_SLACK explains (SHIFT_FACTOR times)."""
    lv, eb, neutral = rec
    t = probe.tables[mirror]
    d = SHIFT_SLACK
    hy = np.array([py, py + (d, -d), py + (-d, d)])
    hx = np.array([px, px + (d, -d), px + (-d, d)])
    y16, _ = _box_means(t[0], hy, hx, FINE)
    hd = _half_diff(y16)  # (3, 3, 8, 8)
    base = hd[0, 0]
    sens = np.abs(hd - base).reshape(-1, GRID, GRID).max(0)
    viol = np.where(_HAS, np.where(eb == 1, np.maximum(0, -base), np.maximum(0, base)), 0)
    out = np.maximum(0, viol - SHIFT_FACTOR * sens) / STRUCT_THRESHOLD
    if not probe.grey:
        cb, _ = _box_means(t[1], py[None], px[None], GRID)
        cr, _ = _box_means(t[2], py[None], px[None], GRID)
        out = np.maximum(out, _tint_excess(cb[0, 0], cr[0, 0], y16[0, 0], probe.ctol))
    return out


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


_ROWS = ("upper", "middle", "lower")
_COLS = ("left", "centre", "right")


def _region(i: float, j: float) -> str:
    r, c = _ROWS[min(2, int(i * 3 / GRID))], _COLS[min(2, int(j * 3 / GRID))]
    if r == "middle":
        return "centre" if c == "centre" else c
    if c == "centre":
        return {"upper": "top", "lower": "bottom"}[r]
    return f"{r} {c}"


@dataclass(frozen=True, eq=False)
class SecondStage:
    """Is the query the recorded picture?

    `diff` is per recorded 8x8 cell (rows top to bottom, the original's orientation): how far the
    query lies outside what was recorded, as a multiple of the tolerance (> 1 = differs): the worst of
    the cell's brightness level and its extra bit (colour comparison, or grey structure). NaN where the
    query shows under 75 % of that cell (cropped away). A candidate that does not confirm is a derivative of the record."""

    confirmed: bool
    score: float  # the worst cell, as a multiple of its tolerance
    threshold: float  # 1.0: a cell differs when its diff exceeds this
    cells_allowed: int  # confirmed iff cells_differing <= cells_allowed
    mirrored: bool
    crop: tuple[float, float, float, float]  # fractions of the original cut off (left, top, right, bottom)
    alignment: str  # the same in words: "as recorded", "mirrored, cropped left 10.0%" …
    colour_compared: bool  # False for a greyscale query (colour is not compared)
    cells_compared: int
    cells_differing: int
    agreement: float  # fraction of the compared cells within tolerance (confirmed needs 1.0)
    regions: tuple[str, ...]  # where the differing cells are, most different first: "centre", "upper left" …
    diff: np.ndarray = field(repr=False)
    summary: str = ""
    overlay: tuple[float, float] | None = None  # a caption band left out: its rows as fractions of the height


def _describe_alignment(mirror: int, crop) -> str:
    parts = ["mirrored"] if mirror else []
    cut = [f"{name} {v:.1%}" for name, v in zip(("left", "top", "right", "bottom"), crop) if v >= 0.005]
    if cut:
        parts.append("cropped " + ", ".join(cut))
    return ", ".join(parts) or "as recorded"


def at_recorded_size(probe: Probe, recorded_signature: bytes) -> bool:
    """Whether the query has the width and height (modulo 61) the signature records. A resized copy rarely
    does (about 1 in 3,700), a crop along one side only in 1 of 61 (a multiple of 61 px cut off); either
    is then judged as a same-size picture, more strictly: a missed copy, never a false confirmation."""
    return recorded_size(recorded_signature) == (probe.size[0] % SIZE_MODULUS, probe.size[1] % SIZE_MODULUS)


def confirm(probe: Probe, recorded_signature: bytes, *, cropped: bool = True) -> SecondStage:
    """`cropped=False`: the query is known to show the recorded picture's full extent (another recorded
    fingerprint says so), so a crop may not explain away differing border cells. A query at the
    recorded size is compared on its exact cells (as is or mirrored): no crop or realignment is searched."""
    rec = decode(recorded_signature)
    lv = rec[0]
    if lv.min() == lv.max():  # a flat record (one brightness level): no layout that a copy must keep
        nothing = np.full((GRID, GRID), np.nan)
        return _result(probe, nothing, 0, (0.0,) * 4, "the record is of a flat picture: nothing to compare")
    if lv.min() != 0 or lv.max() < LEVELS - 2:  # levels span the range: the darkest cell is 0, the brightest 14-15
        nothing = np.full((GRID, GRID), np.nan)
        return _result(probe, nothing, 0, (0.0,) * 4, "the record is no signature this version makes")
    if at_recorded_size(probe, recorded_signature):

        def judge(uncovered: bool):
            ds = [(m, _direct(probe, rec, True, bool(m), uncovered)) for m in (0, 1)]
            ds = [(float(np.nanmax(d)), m, d) for m, d in ds if d is not None and not np.isnan(d).all()]
            return min(ds, key=lambda j: j[0]) if ds else None

        best = judge(False)
        if best is None or best[0] > 1.0:  # not the same picture as it is: perhaps under a caption
            under = judge(True) if probe.caption() is not None else None
            if under is not None and under[0] <= 1.0:
                y0, y1 = probe.caption().rows
                how = f"at the recorded size, a caption-like overlay (rows {y0}-{y1}) left out"
                return _result(probe, under[2], under[1], (0.0,) * 4, how, (y0 / probe.size[1], y1 / probe.size[1]))
        if best is None:
            return _result(probe, np.full((GRID, GRID), np.nan), 0, (0.0,) * 4, "at the recorded size")
        return _result(probe, best[2], best[1], (0.0,) * 4, "at the recorded size")
    direct = _direct(probe, rec)
    if direct is not None and float(direct.max()) <= DIRECT_SHARE:  # the picture as recorded, no realignment
        return _result(probe, direct, 0, (0.0,) * 4)
    mirror, py, px = _search(probe, rec, cropped)
    el, ec, vis = _raw(probe, mirror, py[None], px[None], rec)
    el, vis = el[0, 0], vis[0, 0]
    ec = ec if np.ndim(ec) == 0 else ec[0, 0]
    if rec[2] and max(py.max(), px.max()) > 0.004:  # a neutral record, realigned: allow for the alignment
        ec = _struct_slack(probe, mirror, py, px, rec)
    rel = np.where(vis >= MIN_VISIBLE, _rel(el, ec, vis), np.nan)
    return _result(probe, rel, mirror, (float(px[0]), float(py[0]), float(px[1]), float(py[1])))


def _result(probe: Probe, rel: np.ndarray, mirror: int, crop, how: str = "", overlay=None) -> SecondStage:
    """The verdict from per-cell excesses (NaN: not compared)."""
    seen = ~np.isnan(rel)
    differing = np.nan_to_num(rel) > 1.0
    n_diff = int(differing.sum())
    n_seen = int(seen.sum())
    score = float(np.nanmax(rel)) if n_seen else float("inf")
    weights = {}
    for i, j in zip(*np.nonzero(differing)):
        name = _region(i + 0.5, j + 0.5)
        weights[name] = weights.get(name, 0.0) + float(rel[i, j])
    regions = tuple(n for n, _ in sorted(weights.items(), key=lambda kv: -kv[1]))
    alignment = (how + (", mirrored" if mirror else "")) if how else _describe_alignment(mirror, crop)
    confirmed = n_diff <= ALLOWED_CELLS and n_seen >= GRID * GRID // 2
    agreement = float((np.nan_to_num(rel, nan=2.0) <= 1.0).sum() / n_seen) if n_seen else 0.0
    grey = "; greyscale copy, colour not compared" if probe.grey else ""
    if confirmed:
        summary = f"same picture: all {n_seen} visible cells within tolerance ({alignment}{grey})"
    elif n_seen == 0 and how.startswith("the record"):
        summary = f"not confirmable: {how}"
    elif n_seen == 0 and how:
        summary = f"too flat to confirm: its brightness hardly varies ({alignment})"
    elif n_seen < GRID * GRID // 2:
        summary = f"too little of the recorded picture is visible to confirm it ({n_seen} of 64 cells; {alignment})"
    else:
        where = f"around the {', '.join(regions[:3])}" if regions else ""
        summary = f"differs in {n_diff} of {n_seen} cells {where} (worst {score:.1f}x tolerance; {alignment}{grey})"
    return SecondStage(
        confirmed,
        score,
        1.0,
        ALLOWED_CELLS,
        bool(mirror),
        tuple(crop),
        alignment,
        not probe.grey,
        n_seen,
        n_diff,
        agreement,
        regions,
        rel,
        summary,
        overlay,
    )


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
    if result.overlay is not None:  # the caption band left out, in blue
        dl.rectangle((0, result.overlay[0] * h, w - 1, result.overlay[1] * h), outline=(40, 120, 255), width=2)
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
