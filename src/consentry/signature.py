"""Second-stage signature (draft under calibration)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIGNATURE_BYTES = 32
GRID = 8          # luma cells per side
CGRID = 4         # colour cells per side
LUMA_STEP = 32.0  # 3-bit luma codes
CHROMA_EDGES = np.array([-12.0, 0.0, 12.0])
MICRO = 64        # query-side micro grid
MAX_SIDE = 0.10   # crop hypotheses: at most 10 % off a side ...
MAX_AXIS = 0.20   # ... and 20 % of the width or height in all
MIN_VISIBLE = 0.5
PARTIAL_ALLOWANCE = 40.0

_RGB2YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def _cell_rgb_means(im, n: int) -> np.ndarray:
    arr = np.asarray(im.convert("RGB"))
    h, w = arr.shape[:2]
    if h < GRID or w < GRID:
        raise ValueError(f"image too small for a signature ({w}x{h})")
    rows = (np.arange(n + 1) * h) // n
    cols = (np.arange(n + 1) * w) // n
    s = np.add.reduceat(arr, rows[:-1], axis=0, dtype=np.int64)
    s = np.add.reduceat(s, cols[:-1], axis=1, dtype=np.int64)
    counts = np.diff(rows)[:, None] * np.diff(cols)[None, :]
    return s / counts[..., None]


def _ycc(rgb: np.ndarray) -> np.ndarray:
    return rgb @ _RGB2YCC.T


def features(im) -> tuple[np.ndarray, np.ndarray]:
    """(8x8 mean Y, 4x4x2 mean Cb/Cr) of an image, unquantized."""
    y = _ycc(_cell_rgb_means(im, GRID))[..., 0]
    c = _ycc(_cell_rgb_means(im, CGRID))[..., 1:]
    return y, c


def _codes(y: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yq = np.clip(np.floor(y / LUMA_STEP), 0, 255 // LUMA_STEP).astype(np.int64)
    cq = np.searchsorted(CHROMA_EDGES, c, side="right").astype(np.int64)
    return yq, cq


def signature_of(im) -> bytes:
    yq, cq = _codes(*features(im))
    value = 0
    for q in yq.flatten():
        value = (value << 3) | int(q)
    for cell in cq.reshape(-1, 2):
        value = (value << 4) | (int(cell[0]) << 2) | int(cell[1])
    return value.to_bytes(SIGNATURE_BYTES, "big")


def decode(sig: bytes) -> tuple[np.ndarray, np.ndarray]:
    if len(sig) != SIGNATURE_BYTES:
        raise ValueError(f"a signature is {SIGNATURE_BYTES} bytes, not {len(sig)}")
    value = int.from_bytes(sig, "big")
    c = [(value >> (4 * k)) & 0xF for k in range(CGRID * CGRID)][::-1]
    value >>= 4 * CGRID * CGRID
    y = [(value >> (3 * k)) & 0x7 for k in range(GRID * GRID)][::-1]
    cq = np.array([[v >> 2, v & 3] for v in c]).reshape(CGRID, CGRID, 2)
    return np.array(y).reshape(GRID, GRID), cq


# ------------------------------------------------------------------------------------ query side

@dataclass(frozen=True, eq=False)
class Probe:
    planes: np.ndarray  # 2 (as-is, mirrored) x 3 (Y, Cb, Cr) x MICRO x MICRO
    grey: bool
    size: tuple[int, int]


def prepare(im) -> Probe:
    from PIL import Image

    rgb = im.convert("RGB")
    small = np.asarray(rgb.resize((MICRO, MICRO), Image.Resampling.BOX, reducing_gap=2.0), dtype=np.float64)
    ycc = np.moveaxis(_ycc(small), -1, 0)
    grey = bool(np.abs(ycc[1:]).max() < 2.5)
    return Probe(np.stack([ycc, ycc[:, :, ::-1]]), grey, rgb.size)


def _axis_weights(n: int, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For hypotheses 'the query shows the original's [lo, 1-hi] along this axis': the weights (K, n,
    MICRO) averaging query micro cells into the original's n cells, and each cell's visible fraction."""
    edges = np.arange(n + 1) / n
    u = (edges[None, :] - lo[:, None]) / (1 - lo - hi)[:, None]
    a, b = u[:, :-1], u[:, 1:]
    ac, bc = np.clip(a, 0, 1), np.clip(b, 0, 1)
    vis = (bc - ac) / (b - a)
    m = np.arange(MICRO + 1) / MICRO
    ov = np.clip(np.minimum(bc[..., None], m[None, None, 1:]) - np.maximum(ac[..., None], m[None, None, :-1]), 0, None)
    tot = ov.sum(-1, keepdims=True)
    return ov / np.where(tot > 0, tot, 1), vis


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


def _grids(plane: np.ndarray, wy, wx) -> np.ndarray:
    ky, n, _ = wy.shape
    kx = wx.shape[0]
    g = (wy.reshape(ky * n, MICRO) @ plane) @ wx.reshape(kx * n, MICRO).T
    return g.reshape(ky, n, kx, n).transpose(0, 2, 1, 3)  # ky, kx, n, n


def _evaluate(probe: Probe, mirror: int, py: np.ndarray, px: np.ndarray, yq, cq):
    """Per hypothesis (ky, kx): luma and colour excess grids, the fit, the visibility."""
    wy, vy = _axis_weights(GRID, py[:, 0], py[:, 1])
    wx, vx = _axis_weights(GRID, px[:, 0], px[:, 1])
    planes = probe.planes[mirror]
    y = _grids(planes[0], wy, wx)
    vis = vy[:, None, :, None] * vx[None, :, None, :]
    mask = (vis >= MIN_VISIBLE).astype(np.float64)
    centre = yq * LUMA_STEP + LUMA_STEP / 2
    # robust affine fit y ~ a*centre + b over visible cells (two Huber-weighted rounds)
    wts = mask
    for _ in range(3):
        sw = wts.sum((-1, -2))
        mc = (wts * centre).sum((-1, -2)) / sw
        my = (wts * y).sum((-1, -2)) / sw
        cov = (wts * (centre - mc[..., None, None]) * (y - my[..., None, None])).sum((-1, -2))
        var = (wts * (centre - mc[..., None, None]) ** 2).sum((-1, -2))
        a = np.clip(cov / np.maximum(var, 1e-9), 0.8, 1.25)
        b = np.clip(my - a * mc, -40, 40)
        res = np.abs(y - (a[..., None, None] * centre + b[..., None, None]))
        wts = mask / np.maximum(1.0, res / 16.0)
    r = (y - b[..., None, None]) / a[..., None, None]
    lo = np.where(yq == 0, -np.inf, yq * LUMA_STEP)
    hi = np.where(yq == 255 // LUMA_STEP, np.inf, (yq + 1) * LUMA_STEP)
    ey = np.maximum(0, np.maximum(lo - r, r - hi))
    ey = np.maximum(0, ey - (1 - vis) * PARTIAL_ALLOWANCE) * mask
    if probe.grey:
        ec = np.zeros(ey.shape[:2] + (CGRID, CGRID))
    else:
        wyc, vyc = _axis_weights(CGRID, py[:, 0], py[:, 1])
        wxc, vxc = _axis_weights(CGRID, px[:, 0], px[:, 1])
        visc = vyc[:, None, :, None] * vxc[None, :, None, :]
        maskc = (visc >= MIN_VISIBLE).astype(np.float64)
        ec = 0
        for ch in (1, 2):
            c = _grids(planes[ch], wyc, wxc) / a[..., None, None]
            q = cq[..., ch - 1]
            clo = np.where(q == 0, -np.inf, CHROMA_EDGES[np.maximum(q - 1, 0)])
            chi = np.where(q == 3, np.inf, CHROMA_EDGES[np.minimum(q, 2)])
            ec = np.maximum(ec, np.maximum(0, np.maximum(clo - c, c - chi)))
        ec = np.maximum(0, ec - (1 - visc) * PARTIAL_ALLOWANCE) * maskc
    return ey, ec, a, b, vis


def raw_match(probe: Probe, sig: bytes):
    """Search mirror x crop hypotheses; return the best (score, mirror, py, px, ey, ec)."""
    yq, cq = decode(sig)
    best = None
    coarse = _pairs(0.025)
    for mirror in (0, 1):
        ey, ec, *_ = _evaluate(probe, mirror, coarse, coarse, yq, cq)
        score = ey.sum((-1, -2)) + ec.sum((-1, -2))
        for flat in np.argsort(score, axis=None)[:3]:
            i, j = np.unravel_index(flat, score.shape)
            cand = (float(score[i, j]), mirror, coarse[i], coarse[j])
            if best is None or cand[0] < best[0]:
                best = cand
            # refine around it
            fy, fx = _pairs(0.00625, coarse[i], 0.0125), _pairs(0.00625, coarse[j], 0.0125)
            ey2, ec2, *_ = _evaluate(probe, mirror, fy, fx, yq, cq)
            s2 = ey2.sum((-1, -2)) + ec2.sum((-1, -2))
            k, l = np.unravel_index(np.argmin(s2), s2.shape)
            if s2[k, l] < best[0]:
                best = (float(s2[k, l]), mirror, fy[k], fx[l])
    score, mirror, py, px = best
    ey, ec, a, b, vis = _evaluate(probe, mirror, py[None], px[None], yq, cq)
    return score, mirror, py, px, ey[0, 0], ec[0, 0], float(a[0, 0]), float(b[0, 0])
