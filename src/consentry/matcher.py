"""Perceptual lookup: which stored 64-bit pHashes lie within a Hamming distance of a query.

Multi-index hashing: each hash is cut into four 16-bit bands; a stored hash within distance
<= 11 of the query differs in at most 2 bits in at least one band, so the candidates are the
stored hashes whose band equals one of the query band's 137 neighbours (radius 2), looked up in
per-band bucket tables, then checked exactly. ~84k candidates at 10 M hashes instead of 10 M.
The tables are a cache beside the index (`<index>.phash/`), rebuilt when the index changes.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np

BANDS = 4
BAND_BITS = 16
MAX_RADIUS = 11  # what the band lookup guarantees to find
DEFAULT_THRESHOLD = 11


@lru_cache(maxsize=1)
def _neighbour_masks() -> np.ndarray:
    masks = [0] + [1 << i for i in range(BAND_BITS)]
    masks += [(1 << i) | (1 << j) for i in range(BAND_BITS) for j in range(i + 1, BAND_BITS)]
    return np.array(masks, dtype=np.int64)


class PerceptualIndex:
    def __init__(self, hashes: np.ndarray, ids: np.ndarray, orders: list[np.ndarray], starts: list[np.ndarray]):
        self.hashes, self.ids, self.orders, self.starts = hashes, ids, orders, starts

    def __len__(self) -> int:
        return len(self.hashes)

    @classmethod
    def build(cls, hashes: np.ndarray, ids: np.ndarray) -> "PerceptualIndex":
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        orders, starts = [], []
        for b in range(BANDS):
            band = ((hashes >> np.uint64(BAND_BITS * b)) & np.uint64(0xFFFF)).astype(np.uint16)
            order = np.argsort(band, kind="stable").astype(np.int32)
            counts = np.bincount(band, minlength=1 << BAND_BITS)
            st = np.zeros((1 << BAND_BITS) + 1, dtype=np.int64)
            np.cumsum(counts, out=st[1:])
            orders.append(order)
            starts.append(st)
        return cls(hashes, np.asarray(ids, dtype=np.int64), orders, starts)

    def search(self, query: int, threshold: int = DEFAULT_THRESHOLD) -> list[tuple[int, int]]:
        """(id, distance) of every stored hash within `threshold` bits, nearest first."""
        if len(self.hashes) == 0:
            return []
        threshold = min(threshold, MAX_RADIUS)
        masks = _neighbour_masks()
        parts = []
        for b in range(BANDS):
            v = (query >> (BAND_BITS * b)) & 0xFFFF
            vals = v ^ masks
            lo, hi = self.starts[b][vals], self.starts[b][vals + 1]
            lengths = hi - lo
            total = int(lengths.sum())
            if total == 0:
                continue
            offsets = np.repeat(lo - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
            parts.append(self.orders[b][offsets + np.arange(total)])
        if not parts:
            return []
        cand = np.concatenate(parts)  # duplicates (a hash near in two bands) are dropped after the check
        d = np.bitwise_count(self.hashes[cand] ^ np.uint64(query))
        keep = d <= threshold
        found = dict(zip(self.ids[cand[keep]].tolist(), d[keep].tolist()))
        return sorted(found.items(), key=lambda x: (x[1], x[0]))

    # ------------------------------------------------------------ cache on disk

    def save(self, folder: Path, stamp: dict) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "hashes.npy", self.hashes)
        np.save(tmp / "ids.npy", self.ids)
        for b in range(BANDS):
            np.save(tmp / f"order{b}.npy", self.orders[b])
            np.save(tmp / f"starts{b}.npy", self.starts[b])
        (tmp / "stamp.json").write_text(json.dumps(stamp))
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, stamp: dict) -> "PerceptualIndex | None":
        try:
            if json.loads((folder / "stamp.json").read_text()) != stamp:
                return None
            mm = dict(mmap_mode="r")
            return cls(
                np.load(folder / "hashes.npy", **mm),
                np.load(folder / "ids.npy", **mm),
                [np.load(folder / f"order{b}.npy", **mm) for b in range(BANDS)],
                [np.load(folder / f"starts{b}.npy", **mm) for b in range(BANDS)],
            )
        except (OSError, ValueError):
            return None
