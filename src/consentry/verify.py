"""Verdicts: was this image authorised? Looks an image up in the index by file hash, pixel hash
and perceptual hash (as-is, mirrored, crop-compensated) and judges the license behind it.

verdicts: authorised · authorised-then-ended · not-authorised · twin-asset · unknown
matches:  exact-file · same-pixels · perceptual (with the Hamming distance)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import vocab
from .hashing import query as hash_query
from .index import get_meta
from .matcher import DEFAULT_THRESHOLD, PerceptualIndex

AUTHORISED = "authorised"
ENDED = "authorised-then-ended"
NOT_AUTHORISED = "not-authorised"
TWIN_ASSET = "twin-asset"
UNKNOWN = "unknown"
MATCH_RANK = {"exact-file": 0, "same-pixels": 1, "perceptual": 2}


@dataclass(frozen=True)
class UseContext:
    """Optional: the use a copy was found in (a channel, a territory, transformations seen)."""
    channel: str | None = None
    territory: str | None = None
    transforms: tuple[str, ...] = ()


def _cache_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".phash")


def publication_matcher(db, db_path: Path) -> PerceptualIndex:
    """The perceptual index over all publications, from the cache when it is current."""
    stamp = {"generation": get_meta(db, "generation", 0), "registry": get_meta(db, "registry")}
    folder = _cache_dir(db_path)
    idx = PerceptualIndex.load(folder, stamp)
    if idx is not None:
        return idx
    n = db.execute("SELECT count(*) FROM publications").fetchone()[0]
    ids = np.empty(n, dtype=np.int64)
    hashes = np.empty(n, dtype=np.int64)
    cur = db.execute("SELECT id, phash FROM publications ORDER BY id")
    i = 0
    while rows := cur.fetchmany(100_000):
        arr = np.array(rows, dtype=np.int64)
        ids[i:i + len(arr)], hashes[i:i + len(arr)] = arr[:, 0], arr[:, 1]
        i += len(arr)
    idx = PerceptualIndex.build(hashes.view(np.uint64), ids)
    try:
        idx.save(folder, stamp)
    except OSError:
        pass  # a read-only location: use it from memory
    return idx


def _asset_matcher(db) -> PerceptualIndex:
    """Twin assets are few (capture photos): built in memory on demand."""
    rows = db.execute("SELECT rowid, phash FROM twin_assets").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    hashes = np.array([r[1] for r in rows], dtype=np.int64).view(np.uint64)
    return PerceptualIndex.build(hashes, ids)


def _best_perceptual(idx: PerceptualIndex, variants, threshold: int) -> dict[int, tuple[int, str]]:
    """id -> (distance, how) over all query variants."""
    best: dict[int, tuple[int, str]] = {}
    for how, h in variants:
        for i, d in idx.search(h, threshold):
            if i not in best or d < best[i][0]:
                best[i] = (d, how)
    return best


PUB_SQL = """SELECT p.id, p.license_id, p.channel, p.territory, p.transforms, p.use_number, p.block, p.block_time,
       p.tx, l.twin_id, l.licensee, l.channels, l.territories, l.transforms, l.valid_from, s.ends_at, s.revoked,
       s.twin_withdrawn_at, t.owner, l.max_uses, l.fee_per_use, l.terms_hash, l.valid_until
FROM publications p JOIN licenses l USING (license_id) JOIN license_status s USING (license_id)
JOIN twins t ON t.twin_id = l.twin_id WHERE p.{col} = ?"""
PUB_KEYS = ["id", "license_id", "channel", "territory", "transforms", "use_number", "block", "block_time", "tx",
            "twin_id", "licensee", "lic_channels", "lic_territories", "lic_transforms", "valid_from", "ends_at",
            "revoked", "twin_withdrawn_at", "owner", "max_uses", "fee_per_use", "terms_hash", "valid_until"]


def _publications(db, col: str, value) -> list[dict]:
    return [dict(zip(PUB_KEYS, r)) for r in db.execute(PUB_SQL.format(col=col), [value]).fetchall()]


def _status(p: dict, at: int, live: dict | None) -> tuple[bool, str | None]:
    """Is the publication's license valid at `at`? and if not, why it ended."""
    if live is not None and p["license_id"] in live:
        valid = live[p["license_id"]]
        return valid, None if valid else "license no longer valid (read live from the chain)"
    ends = p["ends_at"]
    w = p["twin_withdrawn_at"]
    if w is not None and at >= w:
        return False, f"twin withdrawn {vocab.format_time(w)}"
    if at >= ends:
        return False, (f"license revoked, effective {vocab.format_time(ends)}" if p["revoked"] and ends < p["valid_until"]
                       else f"license expired {vocab.format_time(ends)}")
    if at < p["valid_from"]:
        return False, "license not valid yet"
    return True, None


def _covers(p: dict, ctx: UseContext | None) -> list[str]:
    problems = []
    if ctx is None:
        return problems
    if ctx.channel and not p["lic_channels"] >> vocab.channel_index(ctx.channel) & 1:
        problems.append(f"license {p['license_id']} does not allow channel '{ctx.channel}'")
    if ctx.territory and not vocab.territory_covered(p["lic_territories"], ctx.territory):
        problems.append(f"license {p['license_id']} does not cover territory '{ctx.territory.upper()}'")
    extra = vocab.transform_mask(list(ctx.transforms)) & ~p["lic_transforms"]
    if extra:
        problems.append(f"license {p['license_id']} does not allow {', '.join(vocab.transform_names(extra))}")
    return problems


def _terms_words(p: dict) -> dict:
    return {
        "channels": vocab.channel_names(p["lic_channels"]),
        "territories": vocab.unpack_territories(p["lic_territories"]),
        "transforms": vocab.transform_names(p["lic_transforms"]),
        "valid_from": vocab.format_time(p["valid_from"]), "valid_until": vocab.format_time(p["ends_at"]),
        "max_uses": p["max_uses"] or "unlimited", "fee_per_use_wei": int(p["fee_per_use"]),
        "terms_hash": p["terms_hash"],
    }


class Verifier:
    def __init__(self, db, db_path: Path, *, at: int | None = None, threshold: int = DEFAULT_THRESHOLD,
                 context: UseContext | None = None, live=None):
        self.db, self.db_path, self.threshold, self.context = db, db_path, threshold, context
        if at is None:  # now: the wall clock, or the chain's clock when it runs ahead (a dev chain)
            row = db.execute("SELECT max(timestamp) FROM blocks").fetchone()
            at = max(int(time.time()), row[0] or 0)
        self.at = at
        self.live = live  # callable(license_ids) -> {id: valid now}, for --live
        self._pub_idx = None
        self._asset_idx = None

    def pub_index(self) -> PerceptualIndex:
        if self._pub_idx is None:
            self._pub_idx = publication_matcher(self.db, self.db_path)
        return self._pub_idx

    def find_publications(self, q) -> tuple[list[dict], str | None, int | None]:
        fp = q.fingerprint
        rows = _publications(self.db, "content_hash", fp.content_hash)
        if rows:
            return rows, "exact-file", 0
        rows = _publications(self.db, "pixel_prefix", fp.pixel_hash[:16])
        if rows:
            return rows, "same-pixels", 0
        best = _best_perceptual(self.pub_index(), q.variants, self.threshold)
        if not best:
            return [], None, None
        d = min(v[0] for v in best.values())
        rows = [r for i, (dist, _) in best.items() if dist == d for r in _publications(self.db, "id", i)]
        return rows, "perceptual", d

    def find_asset(self, q) -> tuple[dict | None, str | None, int | None]:
        fp = q.fingerprint
        sql = """SELECT a.twin_id, a.name, t.owner, a.manifest FROM twin_assets a JOIN twins t USING (twin_id)
                 WHERE a.{col} = ? ORDER BY a.twin_id"""
        for col, val, how in (("content_hash", fp.content_hash, "exact-file"), ("pixel_hash", fp.pixel_hash, "same-pixels")):
            r = self.db.execute(sql.format(col=col), [val]).fetchone()
            if r:
                return dict(zip(["twin_id", "name", "owner", "manifest"], r)), how, 0
        if self._asset_idx is None:
            self._asset_idx = _asset_matcher(self.db)
        best = _best_perceptual(self._asset_idx, q.variants, self.threshold)
        if not best:
            return None, None, None
        rowid, (d, _) = min(best.items(), key=lambda kv: kv[1][0])
        r = self.db.execute(sql.format(col="rowid"), [rowid]).fetchone()
        return dict(zip(["twin_id", "name", "owner", "manifest"], r)), "perceptual", d

    def verify(self, path: str | Path, q=None) -> dict:
        q = q or hash_query(path)
        base = {"path": str(path), "content_hash": "0x" + q.fingerprint.content_hash.hex(),
                "match": None, "distance": None, "twin_id": None, "license_id": None, "model": None,
                "brand": None, "tx": None, "block_time": None, "reasons": []}
        rows, how, dist = self.find_publications(q)
        if rows:
            live = self.live([r["license_id"] for r in rows]) if self.live else None
            judged = []
            for p in rows:
                valid, why = _status(p, self.at, live)
                problems = _covers(p, self.context)
                # the contract accepted the record only inside its license: what can be missing is
                # cover for the use the copy was found in, or validity now
                verdict = NOT_AUTHORISED if problems else (AUTHORISED if valid else ENDED)
                judged.append((verdict, p, problems + ([why] if why else [])))
            rank = {AUTHORISED: 0, ENDED: 1, NOT_AUTHORISED: 2}
            verdict, p, reasons = min(judged, key=lambda j: (rank[j[0]], -j[1]["block"]))
            return {**base, "verdict": verdict, "match": how, "distance": dist, "twin_id": p["twin_id"],
                    "license_id": p["license_id"], "model": p["owner"], "brand": p["licensee"], "tx": p["tx"],
                    "block": p["block"], "block_time": p["block_time"],
                    "published": {"channel": vocab.CHANNELS[p["channel"]] if p["channel"] < 6 else p["channel"],
                                  "territory": vocab.territory_name(p["territory"]),
                                  "transforms": vocab.transform_names(p["transforms"]), "use": p["use_number"]},
                    "license": _terms_words(p), "reasons": reasons, "records": len(rows)}
        asset, how, dist = self.find_asset(q)
        if asset:
            return {**base, "verdict": TWIN_ASSET, "match": how, "distance": dist, "twin_id": asset["twin_id"],
                    "model": asset["owner"], "asset": asset["name"],
                    "reasons": [f"one of twin {asset['twin_id']}'s registered capture assets, not a licensed publication"]}
        return {**base, "verdict": UNKNOWN, "reasons": ["no publication or twin asset in the index matches"]}
