"""Verdicts: was this image authorised? The rules, and only the rules: lookups come from the index.

An image is looked up by file hash, pixel hash and perceptual hash (as-is, mirrored,
crop-compensated). A perceptual candidate is only a candidate: it becomes a match when the second
stage (`signature.confirm`, against the 38-byte signature recorded on chain) says it is the same
picture; otherwise the image is a `derivative` of that record. Every matching record is judged:

  authorised             a record under a trusted twin, with a license valid at the time asked
  authorised-then-ended  valid when published; the license has since ended (or the twin withdrawn)
  not-authorised         a record exists, but not for the use the copy was found in
  derivative             resembles a recorded image but differs (outfit, face, background…)
  unverified-twin        a record exists, but nobody this verifier trusts vouches for the twin's owner
  twin-asset             one of a (trusted) twin's capture assets
  unknown                no record

When records of different twins match, the verdict follows the trusted, earliest record and the
others are listed as `conflicts` (never the most favourable one silently). Records made after the
time asked (`--at`) do not exist for that verdict.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import hashing, status, vocab
from .hashing import query as hash_query
from .errors import ConsentryError
from .index import get_meta
from .matcher import DEFAULT_THRESHOLD, PerceptualIndex
from .trust import TrustView

AUTHORISED = "authorised"
ENDED = "authorised-then-ended"
NOT_AUTHORISED = "not-authorised"
DERIVATIVE = "derivative"
UNVERIFIED = "unverified-twin"
TWIN_ASSET = "twin-asset"
UNKNOWN = "unknown"
VERDICTS = (AUTHORISED, ENDED, NOT_AUTHORISED, DERIVATIVE, UNVERIFIED, TWIN_ASSET, UNKNOWN)
MAX_CANDIDATES = 64  # perceptual candidates given the second stage, nearest first


@dataclass(frozen=True)
class UseContext:
    """Optional: the use a copy was found in (a channel, a territory, transformations seen)."""

    channel: str | None = None
    territory: str | None = None
    transforms: tuple[str, ...] = ()


def _cache_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".phash")


def cache_stamp(db) -> dict:
    """What the perceptual cache is bound to: this index file (a random id made with it), the chain
    and registry it holds, and its generation (bumped by every change to publications)."""
    return {
        "index_id": get_meta(db, "index_id"),
        "generation": get_meta(db, "generation", 0),
        "registry": get_meta(db, "registry"),
        "chain_id": get_meta(db, "chain_id"),
        "genesis": get_meta(db, "genesis"),
    }


def publication_matcher(db, db_path: Path) -> PerceptualIndex:
    """The perceptual index over all publications' recorded pHash (of the central region), from the cache
    when it is bound to this index."""
    stamp = cache_stamp(db)
    folder = _cache_dir(db_path)
    idx = PerceptualIndex.load(folder, stamp) if stamp["index_id"] else None
    if idx is not None:
        return idx
    n = db.execute("SELECT count(*) FROM publications").fetchone()[0]
    ids = np.empty(n, dtype=np.int64)
    hashes = np.empty(n, dtype=np.int64)
    cur = db.execute("SELECT id, phash FROM publications ORDER BY id")
    i = 0
    while rows := cur.fetchmany(100_000):
        arr = np.array(rows, dtype=np.int64)
        ids[i : i + len(arr)], hashes[i : i + len(arr)] = arr[:, 0], arr[:, 1]
        i += len(arr)
    idx = PerceptualIndex.build(hashes.view(np.uint64), ids)
    if stamp["index_id"]:
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
       s.twin_withdrawn_at, t.owner, l.max_uses, l.fee_per_use, l.terms_hash, l.valid_until, p.log_index,
       p.signature, l.grantor, p.disclosures, p.phash, coalesce(l.flags, 0),
       (SELECT document FROM terms_documents d WHERE d.license_id = l.license_id AND d.terms_hash = lower(l.terms_hash)),
       l.currency
FROM publications p JOIN licenses l USING (license_id) JOIN license_status s USING (license_id)
JOIN twins t ON t.twin_id = l.twin_id WHERE p.{col} = ? AND p.block_time <= ?"""
PUB_KEYS = [
    "id",
    "license_id",
    "channel",
    "territory",
    "transforms",
    "use_number",
    "block",
    "block_time",
    "tx",
    "twin_id",
    "licensee",
    "lic_channels",
    "lic_territories",
    "lic_transforms",
    "valid_from",
    "ends_at",
    "revoked",
    "twin_withdrawn_at",
    "owner",
    "max_uses",
    "fee_per_use",
    "terms_hash",
    "valid_until",
    "log_index",
    "signature",
    "grantor",
    "disclosures",
    "phash",
    "lic_flags",
    "terms_document",
    "lic_currency",
]


CROP_CHECK_MIN = 0.015  # a second-stage crop of at least this much (a side) is checked against the central pHash
CROP_CHECK_MARGIN = 2  # bits by which the uncropped reading must beat the crop's (2 of 318 real crops flagged, 20 of 26 borders)


def _crop_contradicted(q, ss, recorded_central) -> bool:
    """Whether the recorded central pHash says the query shows the picture's full extent while the second
    stage explained it as a crop: a replaced background border reads like a 2-4 % crop to the 8x8 cells, but
    the central region then sits where it was recorded, not where a crop would move it."""
    src = getattr(q, "central_source", None)
    if src is None or recorded_central is None or max(ss.crop) < CROP_CHECK_MIN:
        return False
    rec = int(recorded_central) & (2**64 - 1)
    at_crop = hashing.central_phash_at(src, ss.crop, ss.mirrored)
    at_full = hashing.central_phash_at(src, (0.0, 0.0, 0.0, 0.0), ss.mirrored)
    if at_crop is None or at_full is None:
        return False
    return hashing.hamming(at_full, rec) + CROP_CHECK_MARGIN < hashing.hamming(at_crop, rec)


def _disclosed_at_publication(p: dict) -> dict:
    """What the record says the images carried when published (the registry's disclosure bits)."""
    from . import disclosure

    bits = p.get("disclosures")
    return {
        "disclosed_at_publication": None if bits is None else bool(bits),
        "disclosures_at_publication": [] if not bits else disclosure.disclosure_names(bits),
    }


def _with_file_disclosure(r: dict, path, shown: str | None = None, registry: tuple = (None, None)) -> dict:
    """`disclosed_in_file` (an AI digital source type in the file's XMP or C2PA manifest), the manifest's
    validation state and signer, and any registry record the file claims that is not the one its pixels
    matched (a claim is the file's word; the hashes decide)."""
    from . import disclosure, text

    def said(message: str) -> str:
        return text.safe(message.replace(str(path), shown) if shown else message)

    try:
        fd = disclosure.read(path)
    except ConsentryError as e:  # the image was hashed; its metadata may still be unreadable
        return {**r, "disclosed_in_file": False, "c2pa": None, "disclosure_warnings": [said(str(e))]}
    m = fd.manifest
    out = {
        **r,
        "disclosed_in_file": fd.disclosed_in_file,
        "c2pa": None
        if m is None
        else {"state": m.state, "signer": text.safe(m.signer or ""), "signer_org": text.safe(m.signer_org or "")},
        "disclosure_warnings": [said(w) for w in fd.warnings],
    }
    chain_id, reg = registry
    for c in fd.claims:  # a pointer in a file is the file's word: only the hashes decide
        other_registry = (
            chain_id is not None and reg is not None and (c.chain_id != chain_id or str(c.registry).lower() != str(reg).lower())
        )
        where = f"license {c.license_id} of eip155:{c.chain_id}:{text.safe(str(c.registry))}"
        if r.get("license_id") is None:
            why = f"the file's {c.source.upper()} metadata claims {where}, but no record matches its hashes"
        elif other_registry:
            why = f"the file's {c.source.upper()} metadata claims {where}, another registry than this index's"
        elif c.license_id != r["license_id"]:
            why = (
                f"the file's {c.source.upper()} metadata claims license {c.license_id}, but its pixels match "
                f"license {r['license_id']}"
            )
        else:
            continue
        out["reasons"] = list(out.get("reasons", [])) + [why + ": a claim in a file is not evidence of consent"]
        out["forged_claim"] = True
        break
    return out


def license_times(p: dict, at: int) -> status.LicenseTimes:
    """The license's times as the chain knew them at `at` (revocations recorded later do not count
    for an earlier `at`: they are forward-only, so their effective time is later still)."""
    return status.LicenseTimes(p["valid_from"], p["ends_at"], bool(p["revoked"]), p["twin_withdrawn_at"] or 0)


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


def terms_words(p: dict) -> dict:
    """A license's terms in words, from an index row (keys lic_channels, lic_territories, lic_transforms,
    valid_from, ends_at, max_uses, fee_per_use, lic_currency, lic_flags, terms_hash, terms_document): the one
    place verify, the HTTP API and the page take them from."""
    return _terms_words(p)


def _terms_words(p: dict) -> dict:
    return {
        "channels": vocab.channel_names(p["lic_channels"]),
        "territories": vocab.unpack_territories(p["lic_territories"]),
        "transforms": vocab.transform_names(p["lic_transforms"]),
        "valid_from": vocab.format_time(p["valid_from"]),
        "valid_until": vocab.format_time(p["ends_at"]),
        "max_uses": p["max_uses"] or "unlimited",
        **_fee_words(p),
        "terms_hash": p["terms_hash"],
        "training": "allowed" if p["lic_flags"] & 1 else "not-allowed",
        "after_end_rule": "remove" if p["lic_flags"] & 2 else "remain",
        "purpose": _purpose(p),
    }


def _fee_words(p: dict) -> dict:
    """The fee in its currency: wei for the native coin; for a token, its units, and its symbol when the
    index keeps the terms document (which names it)."""
    import json

    units = int(p["fee_per_use"])
    token = p["lic_currency"] if p["lic_currency"] and int(p["lic_currency"], 16) else None
    if token is None:
        return {"fee_per_use_wei": units, "fee_per_use": str(units), "currency": "native", "fee_shown": vocab.format_wei(units)}
    shown = f"{units} units of token {token}"
    try:
        rate = json.loads(p["terms_document"])["rate"] if p["terms_document"] else None
        if rate and str(rate["currency"]).lower() == token.lower():
            shown = vocab.format_units(units, int(rate["decimals"]), str(rate["symbol"])) + f" (token {token})"
    except (ValueError, KeyError, TypeError):
        pass
    return {"fee_per_use_wei": None, "fee_per_use": str(units), "currency": token, "fee_shown": shown}


def _purpose(p: dict) -> str | None:
    """The license's purpose, from its terms document when the index keeps it (`sync --terms`)."""
    import json

    try:
        return str(json.loads(p["terms_document"])["purpose"]) if p["terms_document"] else None
    except (ValueError, KeyError, TypeError):
        return None


def after_end(p: dict, at: int, ended_live: bool = False) -> str | None:
    """For a record whose license has ended at `at` (expired, revoked, or its twin withdrawn; per the index, or
    per the chain with --live): whether the published image may stay up ("may-remain") or must come down
    ("remove"); None while the license runs."""
    ended = ended_live or at >= p["ends_at"] or bool(p["twin_withdrawn_at"] and at >= p["twin_withdrawn_at"])
    if not ended:
        return None
    return "remove" if p["lic_flags"] & 2 else "may-remain"


def _second_stage_json(ss) -> dict | None:
    if ss is None:
        return None
    out = {"confirmed": bool(ss.confirmed), "summary": ss.summary}
    for k in ("score", "distance", "threshold", "alignment", "cells_differing", "regions", "overlay"):
        v = getattr(ss, k, None)
        if v is not None:
            out[k] = list(v) if isinstance(v, tuple) else (float(v) if isinstance(v, np.floating) else v)
    return out


class Verifier:
    def __init__(
        self,
        db,
        db_path: Path,
        *,
        at: int | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        context: UseContext | None = None,
        live=None,
        trust: TrustView | None = None,
    ):
        self.db, self.db_path, self.threshold, self.context = db, db_path, threshold, context
        self.asked_at = at
        if at is None:  # now: the wall clock, or the chain's clock when it runs ahead (a dev chain)
            row = db.execute("SELECT max(timestamp) FROM blocks").fetchone()
            at = max(int(time.time()), row[0] or 0)
        self.at = at
        self.live = live  # callable(license_ids) -> {id: valid now}, for --live
        self.trust = trust or TrustView({}, {})
        self._pub_idx = None
        self._asset_idx = None
        self._twin_trust: dict[int, tuple[bool, str, list[str]]] = {}

    def pub_index(self) -> PerceptualIndex:
        if self._pub_idx is None:
            self._pub_idx = publication_matcher(self.db, self.db_path)
        return self._pub_idx

    # ------------------------------------------------------------ lookups

    def _publications(self, col: str, value) -> list[dict]:
        return [dict(zip(PUB_KEYS, r)) for r in self.db.execute(PUB_SQL.format(col=col), [value, self.at]).fetchall()]

    def twin_trust(self, twin_id: int, owner: str) -> tuple[bool, str, list[str]]:
        """(trusted, why, live attesters) of a twin, as of `at`."""
        if twin_id not in self._twin_trust:
            rows = self.db.execute(
                """SELECT attester, kind FROM attestations a WHERE twin_id = ? AND block_time <= ? AND rowid =
                   (SELECT max(rowid) FROM attestations b WHERE b.twin_id = a.twin_id AND b.attester = a.attester
                    AND b.block_time <= ?)""",
                [twin_id, self.at, self.at],
            ).fetchall()
            attesters = sorted(a for a, kind in rows if kind == "attested")
            ok, why = self.trust.judge(owner, attesters)
            self._twin_trust[twin_id] = (ok, why, attesters)
        return self._twin_trust[twin_id]

    def find_publications(self, q) -> tuple[list[tuple[dict, str, int, object]], list[tuple[dict, int, object]]]:
        """(matches: [(record, how, distance, second stage)], derivatives: [(record, distance, second stage)])."""
        from . import signature

        fp = q.fingerprint
        matches, seen = [], set()
        for col, val, how in (
            ("content_hash", fp.content_hash, "exact-file"),
            ("pixel_prefix", fp.pixel_hash[:16], "same-pixels"),
        ):
            for r in self._publications(col, val):
                if r["id"] not in seen:
                    seen.add(r["id"])
                    matches.append((r, how, 0, None))
        derivatives = []
        # the recorded pHash is the central region's: found again exactly under crops of up to 10 % a side
        best = _best_perceptual(self.pub_index(), q.central_variants, self.threshold)
        probe = getattr(q, "probe", None)
        for pid, (d, _how) in sorted(best.items(), key=lambda kv: (kv[1][0], kv[0]))[:MAX_CANDIDATES]:
            if pid in seen:
                continue
            for r in self._publications("id", pid):
                sig = bytes(r["signature"] or b"")
                # a record without a second-stage signature can never be confirmed: at most a derivative
                ss = (
                    signature.confirm(probe, sig)
                    if probe is not None and len(sig) == signature.SIGNATURE_BYTES and any(sig)
                    else None
                )
                if ss is not None and ss.confirmed and _crop_contradicted(q, ss, r.get("phash")):
                    ss = signature.confirm(probe, sig, cropped=False)
                if ss is not None and ss.confirmed and getattr(q, "transparent", False):
                    # the perceptual stages compare colours; transparent pixels show whatever lies behind
                    ss = dataclasses.replace(
                        ss,
                        confirmed=False,
                        summary=(
                            "the file has transparent pixels: what a viewer shows depends on the background, so "
                            "only the exact file or the same pixels can match its record"
                        ),
                    )
                if ss is not None and ss.confirmed:
                    matches.append((r, "perceptual", d, ss))
                else:
                    derivatives.append((r, d, ss))
        return matches, derivatives

    def find_assets(self, q) -> list[tuple[dict, str, int]]:
        fp = q.fingerprint
        sql = """SELECT a.rowid, a.twin_id, a.name, t.owner, a.manifest, t.block, t.block_time FROM twin_assets a
                 JOIN twins t USING (twin_id) WHERE a.{col} = ? AND t.block_time <= ?"""
        keys = ["rowid", "twin_id", "name", "owner", "manifest", "block", "block_time"]
        out, seen = [], set()
        for col, val, how in (("content_hash", fp.content_hash, "exact-file"), ("pixel_hash", fp.pixel_hash, "same-pixels")):
            for r in self.db.execute(sql.format(col=col), [val, self.at]).fetchall():
                if r[0] not in seen:
                    seen.add(r[0])
                    out.append((dict(zip(keys, r)), how, 0))
        if not out:
            if self._asset_idx is None:
                self._asset_idx = _asset_matcher(self.db)
            padded = getattr(q, "padded_variants", None)
            variants = padded() if callable(padded) else q.variants
            for rowid, (d, _) in sorted(
                _best_perceptual(self._asset_idx, variants, self.threshold).items(), key=lambda kv: kv[1][0]
            ):
                for r in self.db.execute(sql.format(col="rowid"), [rowid, self.at]).fetchall():
                    out.append((dict(zip(keys, r)), "perceptual", d))
        return out

    # ------------------------------------------------------------ judging

    def _judge(self, p: dict, live: dict | None) -> tuple[str, list[str]]:
        """The verdict one record gives (ignoring trust), with its reasons."""
        if live is not None and p["license_id"] in live:
            valid, why = live[p["license_id"]], "license no longer valid (read live from the chain)"
        else:
            _, why = status.describe(license_times(p, self.at), self.at, vocab.format_time)
            valid = why is None
        problems = _covers(p, self.context)
        # the contract accepted the record only inside its license: what can be missing is cover for
        # the use the copy was found in, or validity at the time asked
        verdict = NOT_AUTHORISED if problems else (AUTHORISED if valid else ENDED)
        return verdict, problems + ([] if valid else [why])

    def _record_json(self, p: dict, verdict: str | None = None) -> dict:
        trusted, why, attesters = self.twin_trust(p["twin_id"], p["owner"])
        return {
            "publication_id": p["id"],
            "twin_id": p["twin_id"],
            "license_id": p["license_id"],
            "model": p["owner"],
            "model_name": self.trust.name_of(p["owner"]),
            "brand": p["licensee"],
            "trusted": trusted,
            "trust": why,
            "attesters": attesters,
            "tx": p["tx"],
            "block": p["block"],
            "recorded_at": vocab.format_time(p["block_time"]),
            **({"verdict": verdict} if verdict else {}),
        }

    def verify(self, path: str | Path, q=None, *, file: str | Path | None = None) -> dict:
        """The verdict on one image file, with what the file itself discloses (XMP / C2PA). `file`: where
        its bytes are when `path` is only its name (an upload)."""
        where = (get_meta(self.db, "chain_id"), get_meta(self.db, "registry"))
        return _with_file_disclosure(self._verify(path, q), file or path, shown=str(path), registry=where)

    def _verify(self, path: str | Path, q=None) -> dict:
        q = q or hash_query(path)
        base = {
            "path": str(path),
            "content_hash": "0x" + q.fingerprint.content_hash.hex(),
            "match": None,
            "distance": None,
            "twin_id": None,
            "license_id": None,
            "model": None,
            "brand": None,
            "tx": None,
            "block_time": None,
            "recorded_at": None,
            "trusted": None,
            "second_stage": None,
            "conflicts": [],
            "reasons": [],
        }
        matches, derivatives = self.find_publications(q)
        if matches:
            r = self._verdict_from_matches(base, matches, derivatives)
            profile = getattr(q, "display_profile", None)
            if profile and r["match"] != "exact-file":
                if r["verdict"] == AUTHORISED:
                    r["verdict"] = NOT_AUTHORISED
                r["reasons"] = [
                    f"the file carries a colour profile ({profile}) that changes how its pixels are "
                    "displayed: the pixels match the record, the picture people see may not"
                ] + r["reasons"]
            return r
        if derivatives:
            return self._derivative(base, derivatives)
        assets = self.find_assets(q)
        if assets:
            return self._asset_verdict(base, assets)
        return {**base, "verdict": UNKNOWN, "reasons": ["no publication or twin asset in the index matches"]}

    def _verdict_from_matches(self, base: dict, matches, derivatives=()) -> dict:
        live = self.live(sorted({m[0]["license_id"] for m in matches})) if self.live else None
        by_twin: dict[int, list] = {}
        for m in matches:
            by_twin.setdefault(m[0]["twin_id"], []).append(m)

        def order(twin_id):  # trusted first, then the earliest record
            recs = by_twin[twin_id]
            first = min((m[0]["block"], m[0]["log_index"]) for m in recs)
            return (0 if self.twin_trust(twin_id, recs[0][0]["owner"])[0] else 1, first)

        twins = sorted(by_twin, key=order)
        rank = {AUTHORISED: 0, ENDED: 1, NOT_AUTHORISED: 2}
        strength = {"exact-file": 0, "same-pixels": 1, "perceptual": 2}
        judged = []
        for m in by_twin[twins[0]]:
            verdict, reasons = self._judge(m[0], live)
            closeness = 0.0 if m[3] is None else float(getattr(m[3], "score", 0.0))
            # the strongest match decides (a re-encoded copy recorded later under another license never
            # overrides the record of this very file), then the license's standing, then the earliest
            judged.append(((strength[m[1]], rank[verdict], closeness, m[0]["block"], m[0]["log_index"]), verdict, reasons, m))
        judged.sort(key=lambda j: j[0])
        _, verdict, reasons, (p, how, dist, ss) = judged[0]
        others = [{**self._record_json(m[0], v), "match": m[1]} for _, v, _, m in judged[1:]]
        trusted, why, _ = self.twin_trust(p["twin_id"], p["owner"])
        conflicts = []
        for t in twins[1:]:
            for m in sorted(by_twin[t], key=lambda m: (m[0]["block"], m[0]["log_index"])):
                v, _ = self._judge(m[0], live)
                conflicts.append({**self._record_json(m[0], v), "match": m[1]})
        if not trusted:
            reasons = [
                f"twin {p['twin_id']} claims model {p['owner']}, but {why.removeprefix('owner ')}"
                if not why.startswith("nobody")
                else why,
                f"the record would otherwise read {verdict}",
            ] + [r for r in reasons]
            verdict = UNVERIFIED
        for r, d, s2 in derivatives:  # altered copies of other twins' records: never silently dropped
            if r["twin_id"] != p["twin_id"]:
                conflicts.append(
                    {
                        **self._record_json(r, DERIVATIVE),
                        "match": "perceptual",
                        "distance": d,
                        "second_stage": _second_stage_json(s2),
                    }
                )
        if others:
            reasons = reasons + [
                f"also recorded under the same twin: license {o['license_id']} to {o['brand']} ({o['match']}), "
                f"recorded {o['recorded_at']} — that record alone would read {o['verdict']}"
                for o in others
            ]
        if conflicts:
            reasons = reasons + [
                f"conflict: the image is also recorded under twin {c['twin_id']} (model {c['model']}"
                f"{', trusted' if c['trusted'] else ', not trusted'}), license {c['license_id']}, "
                f"recorded {c['recorded_at']} — that record alone would read {c['verdict']}"
                for c in conflicts
            ]
        return {
            **base,
            "verdict": verdict,
            "match": how,
            "distance": dist,
            **self._publication_fields(p),
            "grantor": p["grantor"],
            "second_stage": _second_stage_json(ss),
            "published": {
                "channel": vocab.CHANNELS[p["channel"]] if p["channel"] < 6 else p["channel"],
                "territory": vocab.territory_name(p["territory"]),
                "transforms": vocab.transform_names(p["transforms"]),
                "use": p["use_number"],
            },
            **_disclosed_at_publication(p),
            "license": _terms_words(p),
            "after_end": after_end(p, self.at, ended_live=live is not None and live.get(p["license_id"]) is False),
            "reasons": reasons,
            "records": len(matches),
            "conflicts": conflicts,
            "other_records": others,
            "_second_stage_obj": ss,
        }

    def _publication_fields(self, p: dict) -> dict:
        """Who and where of a publication record, as both an authorising record and a resembled one report it."""
        trusted, why, attesters = self.twin_trust(p["twin_id"], p["owner"])
        return {
            "twin_id": p["twin_id"],
            "license_id": p["license_id"],
            "model": p["owner"],
            "model_name": self.trust.name_of(p["owner"]),
            "brand": p["licensee"],
            "brand_name": self.trust.name_of(p["licensee"]),
            "tx": p["tx"],
            "block": p["block"],
            "block_time": p["block_time"],
            "recorded_at": vocab.format_time(p["block_time"]),
            "trusted": trusted,
            "trust": why,
            "attesters": attesters,
        }

    def _derivative(self, base: dict, derivatives) -> dict:
        def order(d):
            p, dist, ss = d
            return (dist, 0 if self.twin_trust(p["twin_id"], p["owner"])[0] else 1, p["block"], p["log_index"])

        derivatives = sorted(derivatives, key=order)
        p, dist, ss = derivatives[0]
        differs = ss.summary if ss is not None else "no second-stage signature was recorded to confirm it"
        reasons = [
            f"resembles publication {p['id']} (use {p['use_number']} of license {p['license_id']}, "
            f"tx {p['tx']}) — pHash {dist} bits apart — but differs: {differs}",
            "not covered by that record: an altered image needs its own license and record",
        ]
        others = [
            {**self._record_json(r), "distance": d, "second_stage": _second_stage_json(s)}
            for r, d, s in derivatives[1:]
            if r["twin_id"] != p["twin_id"]
        ]
        return {
            **base,
            "verdict": DERIVATIVE,
            "match": "perceptual",
            "distance": dist,
            **self._publication_fields(p),
            "resembles_publication": p["id"],
            **_disclosed_at_publication(p),
            "second_stage": _second_stage_json(ss),
            "license": _terms_words(p),
            "conflicts": others,
            "reasons": reasons,
            "_second_stage_obj": ss,
        }

    def _asset_verdict(self, base: dict, assets) -> dict:
        by_twin: dict[int, list] = {}
        for a in assets:
            by_twin.setdefault(a[0]["twin_id"], []).append(a)

        def order(twin_id):
            a = by_twin[twin_id][0][0]
            return (0 if self.twin_trust(twin_id, a["owner"])[0] else 1, a["block"], twin_id)

        twins = sorted(by_twin, key=order)
        a, how, dist = by_twin[twins[0]][0]
        trusted, why, attesters = self.twin_trust(a["twin_id"], a["owner"])
        conflicts = [
            {
                "twin_id": t,
                "model": by_twin[t][0][0]["owner"],
                "asset": by_twin[t][0][0]["name"],
                "trusted": self.twin_trust(t, by_twin[t][0][0]["owner"])[0],
                "recorded_at": vocab.format_time(by_twin[t][0][0]["block_time"]),
            }
            for t in twins[1:]
        ]
        reasons = [f"one of twin {a['twin_id']}'s registered capture assets, not a licensed publication"]
        if not trusted:
            reasons.insert(0, why)
        reasons += [
            f"conflict: the same capture asset is also registered by twin {c['twin_id']} "
            f"(model {c['model']}{', trusted' if c['trusted'] else ', not trusted'}, {c['recorded_at']})"
            for c in conflicts
        ]
        return {
            **base,
            "verdict": TWIN_ASSET if trusted else UNVERIFIED,
            "match": how,
            "distance": dist,
            "twin_id": a["twin_id"],
            "model": a["owner"],
            "model_name": self.trust.name_of(a["owner"]),
            "asset": a["name"],
            "block": a["block"],
            "block_time": a["block_time"],
            "recorded_at": vocab.format_time(a["block_time"]),
            "trusted": trusted,
            "trust": why,
            "attesters": attesters,
            "conflicts": conflicts,
            "reasons": reasons,
        }
