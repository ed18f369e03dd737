"""`consentry serve`: the verifier page and an HTTP API over the index, for people who will not
install a CLI (a model who found her face in an ad, a journalist, a platform's upload pipeline).

    GET  /                         the page: choose or drop an image, read the verdict and its evidence
    POST /v1/verify                multipart, field `image` (one or more): the object `verify --json` prints
    GET  /v1/licenses/{id}         a license from the index: terms in words, status now, uses recorded
    GET  /v1/twins/{id}            a twin: owner, trusted or not and through whom, licenses, withdrawal
    GET  /v1/health                the index (block, age, chain, registry) and, with --rpc, its lag behind the chain
    POST /matches/byContent        the C2PA Soft Binding Resolution API over the same lookup
    GET  /matches/byBinding        ... by a binding value (file sha256, pixel sha256, pHash)
    GET  /manifests/{manifestId}   the record a match names (JSON, not a C2PA manifest store)
    GET  /services/supportedAlgorithms
    GET  /openapi.json             the schema of all of the above

Starlette (the ASGI toolkit FastAPI is built on) and uvicorn: the whole API is a dozen routes with
hand-written JSON, so FastAPI's pydantic models would add a dependency and a second definition of
objects that `verify.py` already defines; the OpenAPI document is written out below instead.

Read-only: the index is opened with `mode=ro` (one connection per worker thread); the perceptual
cache is built at most once at a time across worker processes (a file lock beside it) and kept in
memory, reloaded when `sync` bumps the index's generation. Verification runs in a small thread pool
per process (`--threads`); `--workers N` runs N processes on one socket. Every request has a
deadline; uploads have a size cap (checked while they stream) and images a pixel cap (checked
from the header, before decoding)."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import click

from . import __version__, config, status, vocab
from .errors import ConsentryError, FileProblem, NotFound, UsageError

SCHEMA_VERSION = 1
# the registry's soft-binding algorithms (C2PA alg names; not on the C2PA list, which needs its TWG)
ALG_FILE = "org.consentry.file-sha256.1"
ALG_PIXELS = "org.consentry.pixel-sha256.1"
ALG_PHASH = "org.consentry.central-phash-signature.5"  # .5: the 38-byte signature (registry 2.3)
ALGORITHMS = (ALG_FILE, ALG_PIXELS, ALG_PHASH)
SAME_PICTURE = 50  # similarityScore >= this: the same picture (file, pixels, or confirmed); below: resembles only


@lru_cache(maxsize=None)
def event_signature(name: str) -> str:
    """`Published(bytes32,bytes32,bytes32)`: an event's signature, read from the registry's committed ABI."""
    from .chain_artifact import abi

    for item in abi():
        if item.get("type") == "event" and item.get("name") == name:
            return f"{name}({','.join(i['type'] for i in item['inputs'])})"
    return name


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 25 * 2**20  # one request's body
    max_pixels: int = 50_000_000  # per image, from its header, before decoding
    max_files: int = 10  # per request
    timeout_s: float = 30.0  # per request, reading the upload included
    threads: int = 1  # verifications running at once in one process (the GIL: more workers, not threads)


class TooLarge(ConsentryError):
    code = "too_large"


class Timeout(ConsentryError):
    code = "timeout"


# ---------------------------------------------------------------- the service (no HTTP in here)


class Service:
    """Everything the routes need, over one index, for one process: thread-local read-only
    connections, the perceptual matcher shared by all threads, the trust list (reloaded when the
    file changes)."""

    def __init__(self, index_path: Path, limits: Limits = Limits(), rpc_url: str | None = None):
        from . import index

        self.index_path = Path(index_path)
        self.limits = limits
        self.rpc_url = rpc_url
        index.open_readonly(self.index_path).close()  # fail now: no index, or one from an older version
        self._local = threading.local()
        self._lock = threading.Lock()
        self._indexes: dict[str, tuple] = {}
        self._chain_time: tuple | None = None
        self._counts: tuple | None = None
        self._trust = (None, None)
        self._head: tuple[float, int | None, str | None] = (0.0, None, None)
        self._tmp = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())

    # -- index state

    def db(self):
        conn = getattr(self._local, "db", None)
        if conn is None:
            from . import index

            conn = self._local.db = index.open_readonly(self.index_path)
        return conn

    def _key(self, db) -> tuple:
        from .index import get_meta

        return (get_meta(db, "index_id"), get_meta(db, "generation", 0))

    def shared_index(self, name: str, build, db):
        """A perceptual index every thread of this process shares, for the index's current generation:
        built (or loaded from its cache) once, under a lock across worker processes, then held in memory."""
        key = self._key(db)
        got = self._indexes.get(name)
        if got is not None and got[0] == key:
            return got[1]
        with self._lock:
            got = self._indexes.get(name)
            if got is None or got[0] != key:
                with _file_lock(self.index_path.with_name(self.index_path.name + ".serve.lock")):
                    got = self._indexes[name] = (key, _in_memory(build()))
        return got[1]

    def matcher(self, db=None):
        """The publications' pHash index (what /matches/byBinding searches)."""
        from .verify import publication_matcher

        db = db or self.db()
        return self.shared_index("pub_index", lambda: publication_matcher(db, self.index_path), db)

    def warm(self) -> None:
        """Load every perceptual index a verification uses before the first request."""
        v = self.verifier()
        v.pub_index()

    def now(self, db) -> int:
        """The wall clock, or the chain's clock when it runs ahead (a dev chain), as `verify` judges."""
        key = self._key(db)
        if self._chain_time is None or self._chain_time[0] != key:
            row = db.execute("SELECT max(timestamp) FROM blocks").fetchone()
            self._chain_time = (key, row[0] or 0)
        return max(int(time.time()), self._chain_time[1])

    def trust_view(self):
        from . import trust

        p = trust.path()
        try:
            stamp = p.stat().st_mtime_ns
        except OSError:
            stamp = None
        if self._trust[0] != stamp or self._trust[1] is None:
            self._trust = (stamp, trust.TrustView.from_entries(trust.load()))
        return self._trust[1]

    def verifier(self, db=None):
        """A Verifier judging as of now, with this process's warm perceptual indexes (not one per request)."""
        from .verify import Verifier

        db = db or self.db()
        service = self

        class _Shared(Verifier):
            def pub_index(self):
                return service.shared_index("pub_index", super().pub_index, db)

        return _Shared(db, self.index_path, at=self.now(db), trust=self.trust_view())

    # -- verification

    @contextlib.contextmanager
    def _spooled(self, data: bytes):
        """The upload as a file (hashing and the disclosure reader read files), removed afterwards."""
        fd, tmp = tempfile.mkstemp(prefix="consentry-upload-", dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            yield tmp
        finally:
            os.unlink(tmp)

    def query(self, name: str, data: bytes, path: str | None = None):
        """hashing.query over uploaded bytes (spooled to `path` when given, else to a file of its own): the
        image's pixel count checked from its header first."""
        from PIL import Image

        from .hashing import query as hash_query

        try:
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
        except Exception:  # not an image, or a broken header: hashing says which, in its words
            w = h = 0
        if w * h > self.limits.max_pixels:
            raise TooLarge(
                f"{name} is {w:,} x {h:,} pixels, over this server's limit of {self.limits.max_pixels:,}: downscale it first",
                code="too_many_pixels",
            )
        if path is None:
            with self._spooled(data) as tmp:
                return self.query(name, data, tmp)
        try:
            return hash_query(path)
        except FileProblem as e:
            raise FileProblem(str(e).replace(path, name), code=e.code) from None

    def verify(self, uploads: list[tuple[str, bytes]], explain: bool = False) -> dict:
        """The object `consentry verify --json` prints, for uploaded images; with `explain`, each
        perceptual match or derivative carries the picture of the differences as a data: URL."""
        if not uploads:
            raise UsageError("no image: send one or more files in the multipart field 'image'")
        if len(uploads) > self.limits.max_files:
            raise TooLarge(f"{len(uploads)} images in one request: at most {self.limits.max_files}", code="too_many_files")
        with contextlib.ExitStack() as stack:  # each upload written once, read for its hashes and disclosure
            paths = [stack.enter_context(self._spooled(data)) for _, data in uploads]
            queries = [self.query(name, data, p) for (name, data), p in zip(uploads, paths)]  # bad files fail first
            db = self.db()
            v = self.verifier(db)
            results = []
            for (name, data), q, path in zip(uploads, queries, paths):
                r = v.verify(name, q, file=path)
                ss = r.pop("_second_stage_obj", None)
                if explain and ss is not None:
                    r["explain"] = explain_data_url(data, ss)
                results.append(r)
        from .index import skipped_log_warnings

        warnings = skipped_log_warnings(db)
        return {
            "schema_version": config.SCHEMA_VERSION,
            "results": results,
            "at": v.at,
            "index": self.index_path.name,
            "warnings": warnings,
        }

    # -- records

    def _meta(self, db) -> dict:
        from .index import get_meta

        return {k: get_meta(db, k) for k in ("chain_id", "registry", "synced_block", "generation", "partial")}

    def license(self, license_id: int) -> dict:
        from .verify import terms_words as verify_terms_words

        db = self.db()
        row = db.execute(
            """SELECT l.license_id, l.twin_id, l.licensee, l.grantor, l.channels, l.transforms, l.territories,
                      l.valid_from, l.valid_until, l.max_uses, l.fee_per_use, l.terms_hash, l.block, l.block_time,
                      l.tx, s.ends_at, s.revoked, s.twin_withdrawn_at, t.owner, coalesce(l.flags, 0), l.currency,
                      (SELECT document FROM terms_documents d
                       WHERE d.license_id = l.license_id AND d.terms_hash = lower(l.terms_hash)),
                      (SELECT kind FROM license_suspensions x WHERE x.license_id = l.license_id
                       ORDER BY block DESC, log_index DESC LIMIT 1)
               FROM licenses l JOIN license_status s USING (license_id) JOIN twins t ON t.twin_id = l.twin_id
               WHERE l.license_id = ?""",
            [license_id],
        ).fetchone()
        if row is None:
            raise NotFound(f"no license {license_id} in this index")
        (
            lid,
            twin_id,
            licensee,
            grantor,
            channels,
            transforms,
            territories,
            valid_from,
            valid_until,
            max_uses,
            fee,
            terms_hash,
            block,
            block_time,
            tx,
            ends_at,
            revoked,
            withdrawn_at,
            owner,
            flags,
            currency,
            document,
            suspension,
        ) = row
        at = self.now(db)
        suspended = suspension == "suspended"
        word, why = status.describe(
            status.LicenseTimes(valid_from, ends_at, bool(revoked), withdrawn_at or 0, suspended), at, vocab.format_time
        )
        uses = db.execute(
            "SELECT count(*), min(block_time), max(block_time) FROM publications WHERE license_id = ?", [lid]
        ).fetchone()
        revocations = [
            {"by": by, "effective_at": vocab.format_time(eff), "tx": rtx}
            for by, eff, rtx in db.execute(
                "SELECT revoked_by, effective_at, tx FROM license_revocations WHERE license_id = ? ORDER BY rowid", [lid]
            ).fetchall()
        ]
        trusted, trust_why, attesters = self.verifier(db).twin_trust(twin_id, owner)
        return {
            "schema_version": SCHEMA_VERSION,
            "license_id": lid,
            "twin_id": twin_id,
            "model": owner,
            "brand": licensee,
            "grantor": grantor,
            "granted_by_agent": grantor.lower() != owner.lower(),
            "status": word,
            "valid_now": why is None,
            "status_reason": why,
            "at": at,
            "suspended": suspended,
            "terms": verify_terms_words(
                {
                    "lic_channels": channels,
                    "lic_territories": territories,
                    "lic_transforms": transforms,
                    "valid_from": valid_from,
                    "ends_at": ends_at,
                    "max_uses": max_uses,
                    "fee_per_use": fee,
                    "lic_currency": currency,
                    "lic_flags": flags,
                    "terms_hash": terms_hash,
                    "terms_document": document,
                }
            ),
            "granted_until": vocab.format_time(valid_until),
            "revocations": revocations,
            "uses_recorded": uses[0],
            "first_use": vocab.format_time(uses[1]) if uses[1] else None,
            "last_use": vocab.format_time(uses[2]) if uses[2] else None,
            "trusted": trusted,
            "trust": trust_why,
            "attesters": attesters,
            "granted_at": vocab.format_time(block_time),
            "block": block,
            "tx": tx,
        }

    def twin(self, twin_id: int) -> dict:
        db = self.db()
        row = db.execute(
            "SELECT twin_id, owner, asset_root, asset_count, metadata_hash, metadata_uri, block, block_time,"
            " tx FROM twins WHERE twin_id = ?",
            [twin_id],
        ).fetchone()
        if row is None:
            raise NotFound(f"no twin {twin_id} in this index")
        tid, owner, root, count, meta_hash, meta_uri, block, block_time, tx = row
        v = self.verifier(db)
        trusted, why, attesters = v.twin_trust(tid, owner)
        withdrawn = db.execute("SELECT min(effective_at) FROM twin_withdrawals WHERE twin_id = ?", [tid]).fetchone()[0]
        licenses = [
            r[0] for r in db.execute("SELECT license_id FROM licenses WHERE twin_id = ? ORDER BY license_id", [tid]).fetchall()
        ]
        pubs = db.execute(
            "SELECT count(*) FROM publications p JOIN licenses l USING (license_id) WHERE l.twin_id = ?", [tid]
        ).fetchone()[0]
        assets = db.execute("SELECT count(*) FROM twin_assets WHERE twin_id = ?", [tid]).fetchone()[0]
        attestations = [
            {"attester": a, "kind": k, "name": v.trust.name_of(a), "at": vocab.format_time(bt), "tx": atx}
            for a, k, bt, atx in db.execute(
                "SELECT attester, kind, block_time, tx FROM attestations WHERE twin_id = ? ORDER BY rowid", [tid]
            ).fetchall()
        ]
        return {
            "schema_version": SCHEMA_VERSION,
            "twin_id": tid,
            "model": owner,
            "model_name": v.trust.name_of(owner),
            "trusted": trusted,
            "trust": why,
            "attesters": attesters,
            "attestations": attestations,
            "asset_root": root,
            "asset_count": count,
            "assets_in_index": assets,
            "metadata_hash": meta_hash,
            "metadata_uri": meta_uri,
            "registered_at": vocab.format_time(block_time),
            "block": block,
            "tx": tx,
            "withdrawn_at": vocab.format_time(withdrawn) if withdrawn else None,
            "withdrawn_now": bool(withdrawn and withdrawn <= v.at),
            "licenses": licenses,
            "publications": pubs,
        }

    def health(self) -> dict:
        from .index import get_meta

        db = self.db()
        meta = self._meta(db)
        key = self._key(db)
        if self._counts is None or self._counts[0] != key:
            c = {
                t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("twins", "licenses", "publications", "twin_assets")
            }
            self._counts = (key, c)
        last = db.execute("SELECT number, timestamp FROM blocks ORDER BY number DESC LIMIT 1").fetchone()
        head, head_error = self.chain_head()
        synced = meta["synced_block"]
        index = {
            "file": self.index_path.name,
            "chain_id": meta["chain_id"],
            "registry": meta["registry"],
            "synced_block": synced,
            "generation": meta["generation"],
            "partial": bool(meta["partial"]),
            "index_id": get_meta(db, "index_id"),
            **self._counts[1],
            "last_event_block": last[0] if last else None,
            "last_event_time": vocab.format_time(last[1]) if last else None,
        }
        chain = {
            "rpc": _host(self.rpc_url) if self.rpc_url else None,
            "head": head,
            "lag_blocks": (head - synced) if head is not None and synced is not None else None,
        }
        if head_error:
            chain["error"] = head_error
        elif not self.rpc_url:
            chain["note"] = "start serve with --rpc URL to report the lag behind the chain"
        return {
            "schema_version": SCHEMA_VERSION,
            "status": "ok",
            "version": __version__,
            "index": index,
            "chain": chain,
            "matcher_loaded": "pub_index" in self._indexes,
            "pid": os.getpid(),
            "limits": asdict(self.limits),
        }

    def chain_head(self) -> tuple[int | None, str | None]:
        """The chain's block number, asked at most every 5 s with a 2 s timeout (a health check must not hang)."""
        if not self.rpc_url:
            return None, None
        t, head, err = self._head
        if time.monotonic() - t < 5:
            return head, err
        import urllib.request

        try:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).encode()
            req = urllib.request.Request(self.rpc_url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=2) as resp:
                head, err = int(json.loads(resp.read(65536))["result"], 16), None
        except Exception as e:  # unreachable, refused, not JSON-RPC: reported, never fatal
            head, err = None, f"chain head unavailable from {_host(self.rpc_url)}: {type(e).__name__}"
        self._head = (time.monotonic(), head, err)
        return head, err

    # -- C2PA soft binding resolution

    def manifest_id(self, meta: dict, kind: str, *parts) -> str:
        return ":".join(["urn:consentry:eip155", str(meta["chain_id"]), str(meta["registry"]).lower(), kind, *map(str, parts)])

    def _pub_match(self, db, meta, license_id: int, use: int, score: int, how: str) -> dict | None:
        row = db.execute(
            "SELECT content_hash, block, tx, log_index FROM publications WHERE license_id = ? AND use_number = ?",
            [license_id, use],
        ).fetchone()
        if row is None:
            return None
        content, block, tx, log_index = row
        return {
            "manifestId": self.manifest_id(meta, "license", license_id, "use", use),
            "similarityScore": score,
            "match": how,
            "eventLog": {
                "chainId": meta["chain_id"],
                "address": meta["registry"],
                "event": event_signature("Published"),
                "topic1": "0x" + bytes(content).hex(),
                "blockNumber": block,
                "transactionHash": tx,
                "logIndex": log_index,
            },
        }

    def _use_of(self, db, publication_id: int) -> tuple[int, int] | None:
        return db.execute("SELECT license_id, use_number FROM publications WHERE id = ?", [publication_id]).fetchone()

    def matches_by_content(self, data: bytes, alg: str | None, max_results: int) -> dict:
        if alg and alg not in ALGORITHMS:
            raise UsageError(f"unknown alg {alg!r}: this resolver supports {', '.join(ALGORITHMS)}", code="bad_alg")
        r = self.verify([("upload", data)])["results"][0]
        db = self.db()
        meta = self._meta(db)
        out = []

        def add(license_id, use, how, distance, confirmed):
            a = {"exact-file": ALG_FILE, "same-pixels": ALG_PIXELS}.get(how, ALG_PHASH)
            if alg and a != alg:
                return
            m = self._pub_match(db, meta, license_id, use, similarity(how, distance, confirmed), how)
            if m and all(m["manifestId"] != x["manifestId"] for x in out):
                out.append(m)

        if r["verdict"] == "derivative":
            use = self._use_of(db, r["resembles_publication"])
            if use:
                add(*use, "perceptual", r["distance"], False)
        elif r.get("published"):
            add(r["license_id"], r["published"]["use"], r["match"], r["distance"] or 0, True)
        elif r.get("asset") is not None and (not alg or alg == {"exact-file": ALG_FILE}.get(r["match"], ALG_PIXELS)):
            out.append(self._asset_match(db, meta, r))
        for o in r.get("other_records", []) + r.get("conflicts", []):
            if o.get("publication_id") is not None:
                use = self._use_of(db, o["publication_id"])
                if use:
                    confirmed = o.get("verdict") != "derivative"
                    add(*use, o.get("match") or "perceptual", o.get("distance") or 0, confirmed)
        out.sort(key=lambda m: -m["similarityScore"])
        return {"matches": out[:max_results]}

    def _asset_match(self, db, meta, r) -> dict:
        row = db.execute(
            "SELECT content_hash FROM twin_assets WHERE twin_id = ? AND name = ?", [r["twin_id"], r["asset"]]
        ).fetchone()
        twin = db.execute("SELECT block, tx FROM twins WHERE twin_id = ?", [r["twin_id"]]).fetchone()
        return {
            "manifestId": self.manifest_id(meta, "twin", r["twin_id"], "asset", "0x" + bytes(row[0]).hex()),
            "similarityScore": similarity(r["match"], r["distance"] or 0, r["match"] != "perceptual"),
            "match": r["match"],
            "eventLog": {
                "chainId": meta["chain_id"],
                "address": meta["registry"],
                "event": event_signature("TwinRegistered"),
                "blockNumber": twin[0],
                "transactionHash": twin[1],
            },
        }

    def matches_by_binding(self, alg: str, value: str, max_results: int) -> dict:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise UsageError("value must be base64") from None
        db = self.db()
        meta = self._meta(db)
        at = self.now(db)
        out = []
        if alg in (ALG_FILE, ALG_PIXELS):
            if len(raw) != 32:
                raise UsageError(f"{alg} values are 32 bytes (a sha256), not {len(raw)}")
            col, val = ("content_hash", raw) if alg == ALG_FILE else ("pixel_prefix", raw[:16])
            rows = db.execute(
                f"SELECT license_id, use_number FROM publications WHERE {col} = ? AND block_time <= ?"
                " ORDER BY block, log_index LIMIT ?",
                [val, at, max_results],
            ).fetchall()
            out = [
                self._pub_match(db, meta, lid, use, 100, "exact-file" if alg == ALG_FILE else "same-pixels") for lid, use in rows
            ]
        elif alg == ALG_PHASH:
            from .signature import SIGNATURE_BYTES

            if len(raw) not in (8, 8 + SIGNATURE_BYTES):
                raise UsageError(
                    f"{alg} values are the 8-byte pHash, optionally followed by the {SIGNATURE_BYTES}-byte signature,"
                    f" not {len(raw)} bytes"
                )
            found = self.matcher(db).search(int.from_bytes(raw[:8], "big"), 8)
            for pid, d in found[:max_results]:
                use = self._use_of(db, pid)
                if use:  # a pHash alone cannot be confirmed (the second stage needs the image): resembles only
                    out.append(self._pub_match(db, meta, *use, similarity("perceptual", d, False), "perceptual"))
        else:
            raise UsageError(f"unknown alg {alg!r}: this resolver supports {', '.join(ALGORITHMS)}", code="bad_alg")
        return {"matches": [m for m in out if m]}

    def manifest(self, manifest_id: str) -> dict:
        db = self.db()
        meta = self._meta(db)
        prefix = self.manifest_id(meta, "")  # ends with ":"
        if not manifest_id.startswith(prefix):
            raise NotFound(f"{manifest_id!r} is not a record of this registry ({prefix}…)")
        parts = manifest_id[len(prefix) :].split(":")
        try:
            if parts[0] == "license" and parts[2] == "use" and len(parts) == 4:
                lid, use = int(parts[1]), int(parts[3])
                m = self._pub_match(db, meta, lid, use, 100, "record")
                if m is None:
                    raise NotFound(f"no use {use} of license {lid} in this index")
                row = db.execute(
                    "SELECT channel, territory, transforms, block_time, '0x' || lower(hex(content_hash)),"
                    " '0x' || lower(hex(pixel_prefix)), printf('%016x', phash) FROM publications"
                    " WHERE license_id = ? AND use_number = ?",
                    [lid, use],
                ).fetchone()
                return {
                    "manifestId": manifest_id,
                    "eventLog": m["eventLog"],
                    "kind": "publication",
                    "published": {
                        "channel": vocab.CHANNELS[row[0]] if row[0] < len(vocab.CHANNELS) else row[0],
                        "territory": vocab.territory_name(row[1]),
                        "transforms": vocab.transform_names(row[2]),
                        "use": use,
                        "recorded_at": vocab.format_time(row[3]),
                    },
                    "content_hash": row[4],
                    "pixel_prefix": row[5],
                    "phash": row[6],
                    "license": self.license(lid),
                }
            if parts[0] == "twin" and parts[2] == "asset" and len(parts) == 4:
                return {
                    "manifestId": manifest_id,
                    "kind": "twin-asset",
                    "twin": self.twin(int(parts[1])),
                    "asset_content_hash": parts[3],
                }
        except (IndexError, ValueError):
            pass
        raise NotFound(f"{manifest_id!r} is not a manifest id this resolver issues")


def _in_memory(m):
    """A PerceptualIndex read from its memory-mapped cache, copied into memory: a query searches it
    about 50 times (its crop and mirror variants), and a memmap's __getitem__ costs more than the search."""
    from .matcher import PerceptualIndex

    import numpy as np

    if not isinstance(m, PerceptualIndex) or not isinstance(m.hashes, np.memmap):
        return m
    return PerceptualIndex(np.array(m.hashes), np.array(m.ids), [np.array(o) for o in m.orders], [np.array(x) for x in m.starts])


def similarity(how: str | None, distance: int, confirmed: bool) -> int:
    """similarityScore: 100 for the same file or pixels; 50-99 for a perceptual match the second
    stage confirmed (100 - pHash bits apart); under 50 for a candidate it did not confirm."""
    if how in ("exact-file", "same-pixels"):
        return 100
    return min(99, max(SAME_PICTURE, 100 - distance)) if confirmed else max(0, SAME_PICTURE - 1 - distance)


def explain_data_url(data: bytes, ss) -> str:
    """The picture `verify --explain` writes, as a data: URL."""
    from PIL import Image

    from . import signature

    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        signature.explain_png(im, ss, out)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def disclosure_in_file(data: bytes) -> dict:
    """What the file itself says about being AI-generated: the IPTC digital source type in its XMP,
    and whether it carries a C2PA manifest store (not validated here)."""
    xmp = b""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            x = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp") or b""
            xmp = x.encode() if isinstance(x, str) else bytes(x)
    except Exception:
        pass
    return {
        "ai_generated_xmp": b"trainedAlgorithmicMedia" in xmp or b"compositeWithTrainedAlgorithmicMedia" in xmp,
        "xmp": bool(xmp),
        "c2pa": b"c2pa" in data[:2_000_000] and b"jumb" in data[:2_000_000],
    }


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "?"


@contextlib.contextmanager
def _file_lock(path: Path):
    """Across worker processes: one builds the perceptual cache, the others then load it. Without
    write access beside the index there is nothing to lock (nor any cache to write)."""
    import fcntl

    try:
        f = open(path, "a")
    except OSError:
        yield
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ---------------------------------------------------------------- HTTP

STATUS = {
    "usage": 400,
    "bad_alg": 400,
    "bad_file": 400,
    "not_found": 404,
    "too_large": 413,
    "too_many_pixels": 413,
    "too_many_files": 413,
    "timeout": 504,
    "index": 503,
}


def error_body(message: str, code: str, status_code: int, details: dict | None = None) -> dict:
    """The CLI's `--json` error object, with the HTTP status in place of the exit code."""
    return {
        "schema_version": config.SCHEMA_VERSION,
        "error": message,
        "error_code": code,
        "details": details or {},
        "status": status_code,
    }


class BodyLimit:
    """ASGI middleware: refuses a body over the limit, from Content-Length at once, else as it streams."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        declared_too_large = length is not None and length.isdigit() and int(length) > self.max_bytes
        seen = 0

        async def limited():
            nonlocal seen
            if declared_too_large:
                raise TooLarge(_too_large(self.max_bytes))
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise TooLarge(_too_large(self.max_bytes))
            return msg

        return await self.app(scope, limited, send)


def _too_large(limit: int) -> str:
    return f"the upload is over this server's limit of {limit / 2**20:g} MB"


def create_app(service: Service):
    import anyio
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    from . import serve_page

    limiter = anyio.CapacityLimiter(service.limits.threads)  # verifications (CPU-bound)
    light = anyio.CapacityLimiter(4)  # index look-ups: never queued behind verifications
    timeout = service.limits.timeout_s

    def dumps(obj) -> bytes:
        return json.dumps(obj, indent=2, sort_keys=True, default=str).encode()

    def as_json(obj, status_code=200) -> Response:
        return Response(dumps(obj), status_code, media_type="application/json")

    def fail(e: Exception) -> tuple[str, str, int]:
        if isinstance(e, ConsentryError):
            code = e.code if e.code in STATUS else type(e).code
            return str(e), e.code, STATUS.get(code, 400 if isinstance(e, (UsageError, FileProblem)) else 500)
        return f"internal error: {type(e).__name__}", "internal", 500

    async def run(fn, *args):
        return await anyio.to_thread.run_sync(fn, *args, limiter=limiter, abandon_on_cancel=True)

    async def look(fn, *args):
        return await anyio.to_thread.run_sync(fn, *args, limiter=light, abandon_on_cancel=True)

    async def guarded(request: Request, work, html: bool = False):
        """Run `work` under the deadline; any failure becomes the JSON error object (or the page)."""
        try:
            with anyio.fail_after(timeout):
                return await work()
        except TimeoutError:
            msg, code, st = f"the request took over {timeout:g} s: try a smaller image", "timeout", 504
        except Exception as e:
            msg, code, st = fail(e)
        from .text import safe

        msg = safe(msg)
        if html:
            return HTMLResponse(serve_page.page(error=msg, limits=service.limits), st)
        return as_json(error_body(msg, code, st), st)

    async def read_uploads(request: Request) -> list[tuple[str, bytes]]:
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            raise UsageError("send the images as multipart/form-data, field 'image'")
        try:
            form = await request.form(max_files=service.limits.max_files, max_fields=20)
        except TooLarge:
            raise
        except Exception as e:  # a malformed multipart body, too many parts
            raise UsageError(f"could not read the upload: {getattr(e, 'detail', None) or e}") from None
        uploads = []
        for item in form.getlist("image"):
            if isinstance(item, str):
                raise UsageError("the field 'image' must be a file")
            uploads.append((_display_name(item.filename), await item.read()))
        return [u for u in uploads if u[1] or u[0]]

    async def api_verify(request: Request):
        explain = request.query_params.get("explain", "").lower() in ("1", "true", "yes")

        async def work():
            uploads = await read_uploads(request)
            return as_json(await run(service.verify, uploads, explain))

        return await guarded(request, work)

    async def page(request: Request):
        return HTMLResponse(serve_page.page(limits=service.limits))

    async def page_post(request: Request):
        async def work():
            uploads = await read_uploads(request)
            if not uploads:
                raise UsageError("choose an image first")
            out = await run(service.verify, uploads[:1], True)
            disclosure = disclosure_in_file(uploads[0][1])
            thumb = await run(serve_page.thumbnail_url, uploads[0][1])
            return HTMLResponse(
                serve_page.page(
                    result=out["results"][0],
                    disclosure=disclosure,
                    at=out["at"],
                    warnings=out["warnings"],
                    limits=service.limits,
                    thumbnail=thumb,
                )
            )

        return await guarded(request, work, html=True)

    def int_param(request, name) -> int:
        v = request.path_params[name]
        if not v.isdigit() or int(v) >= 2**63:
            raise UsageError(f"{name} must be a whole number")
        return int(v)

    async def api_license(request: Request):
        return await guarded(request, lambda: _then(look(service.license, int_param(request, "id")), as_json))

    async def api_twin(request: Request):
        return await guarded(request, lambda: _then(look(service.twin, int_param(request, "id")), as_json))

    async def api_health(request: Request):
        return await guarded(request, lambda: _then(look(service.health), as_json))

    def max_results(request) -> int:
        v = request.query_params.get("maxResults", "10")
        if not v.isdigit() or not 1 <= int(v) <= 100:
            raise UsageError("maxResults must be a whole number from 1 to 100")
        return int(v)

    async def by_content(request: Request):
        async def work():
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("multipart/form-data"):
                uploads = await read_uploads(request)
                if len(uploads) != 1:
                    raise UsageError("send exactly one image")
                data = uploads[0][1]
            elif ctype.split("/")[0] in ("image", "application") or not ctype:
                data = await request.body()
            else:
                raise UsageError(f"unsupported asset type {ctype!r}: send an image", code="unsupported_type")
            return as_json(await run(service.matches_by_content, data, request.query_params.get("alg"), max_results(request)))

        return await guarded(request, work)

    async def by_binding(request: Request):
        async def work():
            if request.method == "POST":
                try:
                    body = json.loads(await request.body())
                    alg, value = body["alg"], body["value"]
                except (ValueError, KeyError, TypeError):
                    raise UsageError('send a JSON object {"alg": ..., "value": base64}') from None
            else:
                alg, value = request.query_params.get("alg"), request.query_params.get("value")
                if not alg or not value:
                    raise UsageError("alg and value are required")
            return as_json(await look(service.matches_by_binding, str(alg), str(value), max_results(request)))

        return await guarded(request, work)

    async def manifests(request: Request):
        return await guarded(request, lambda: _then(look(service.manifest, request.path_params["mid"]), as_json))

    async def algorithms(request: Request):
        return as_json({"watermarks": [], "fingerprints": [{"alg": a} for a in ALGORITHMS]})

    async def openapi(request: Request):
        return as_json(openapi_document())

    async def asset(request: Request):
        name = request.path_params["name"]
        body, media = serve_page.ASSETS.get(name, (None, None))
        if body is None:
            raise HTTPException(404)
        return Response(body, media_type=media, headers={"Cache-Control": "max-age=3600"})

    async def http_error(request: Request, exc: HTTPException):
        msg = {404: "no such page", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        if request.url.path == "/" or request.url.path.startswith("/assets"):
            return HTMLResponse(serve_page.page(error=msg, limits=service.limits), exc.status_code)
        return as_json(error_body(msg, "not_found" if exc.status_code == 404 else "usage", exc.status_code), exc.status_code)

    async def server_error(request: Request, exc: Exception):
        return as_json(error_body(f"internal error: {type(exc).__name__}", "internal", 500), 500)

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/", page_post, methods=["POST"]),
        Route("/assets/{name}", asset),
        Route("/v1/verify", api_verify, methods=["POST"]),
        Route("/v1/licenses/{id}", api_license),
        Route("/v1/twins/{id}", api_twin),
        Route("/v1/health", api_health),
        Route("/matches/byContent", by_content, methods=["POST"]),
        Route("/matches/byBinding", by_binding, methods=["GET", "POST"]),
        Route("/manifests/{mid:path}", manifests),
        Route("/services/supportedAlgorithms", algorithms),
        Route("/openapi.json", openapi),
    ]

    async def lifespan(app):
        await run(service.warm)  # before the first request
        yield

    app = Starlette(
        routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error}, lifespan=_lifespan(lifespan)
    )
    app.add_middleware(_Headers)
    app.add_middleware(BodyLimit, max_bytes=service.limits.max_upload_bytes)
    return app


async def _then(awaitable, fn):
    return fn(await awaitable)


def _lifespan(fn):
    return contextlib.asynccontextmanager(fn)


class _Headers:
    """No external resources, no framing, no sniffing: the page is self-contained."""

    CSP = (
        b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(msg):
            if msg["type"] == "http.response.start":
                msg.setdefault("headers", [])
                msg["headers"] = list(msg["headers"]) + [
                    (b"content-security-policy", self.CSP),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
            await send(msg)

        return await self.app(scope, receive, with_headers)


def _display_name(filename: str | None) -> str:
    """The uploaded file's base name, printable and bounded: it comes back in results and messages."""
    from .text import safe

    name = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    return safe(name)[:200]


# ---------------------------------------------------------------- OpenAPI


def openapi_document() -> dict:
    def ref(name):
        return {"$ref": f"#/components/schemas/{name}"}

    def ok(schema, desc="OK"):
        return {"description": desc, "content": {"application/json": {"schema": schema}}}

    errors = {
        str(s): {"description": d, "content": {"application/json": {"schema": ref("Error")}}}
        for s, d in (
            (400, "bad input or a file that is not a readable image"),
            (404, "unknown id"),
            (413, "upload, pixel count or file count over the limit"),
            (504, "over the deadline"),
        )
    }
    binding_params = [
        {"name": "alg", "in": "query", "required": True, "schema": {"type": "string", "enum": list(ALGORITHMS)}},
        {
            "name": "value",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "format": "byte"},
            "description": "base64: 32-byte file sha256, 32-byte pixel sha256, or 8-byte pHash (+ 38-byte signature)",
        },
        {"name": "maxResults", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}},
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Consentry verifier",
            "version": __version__,
            "description": "Was this image authorised? Read-only lookups in a Consentry index (derived from "
            "the registry contract's events), and the C2PA Soft Binding Resolution API over the "
            "same lookup.",
        },
        "paths": {
            "/v1/verify": {
                "post": {
                    "summary": "Verify images: the object `consentry verify --json` prints",
                    "parameters": [
                        {
                            "name": "explain",
                            "in": "query",
                            "schema": {"type": "boolean"},
                            "description": "add `explain`, a data: URL of the picture of the differences, "
                            "to each perceptual match or derivative",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {"image": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                                }
                            }
                        },
                    },
                    "responses": {"200": ok(ref("VerifyResult")), **errors},
                }
            },
            "/v1/licenses/{id}": {
                "get": {
                    "summary": "A license: terms in words, status now, uses recorded",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {"200": ok({"type": "object"}), **errors},
                }
            },
            "/v1/twins/{id}": {
                "get": {
                    "summary": "A twin: owner, trust, attestations, licenses, withdrawal",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {"200": ok({"type": "object"}), **errors},
                }
            },
            "/v1/health": {
                "get": {
                    "summary": "The index served (block, counts) and its lag behind the chain",
                    "responses": {"200": ok({"type": "object"})},
                }
            },
            "/matches/byContent": {
                "post": {
                    "summary": "C2PA soft binding resolution: records matching an uploaded image",
                    "parameters": [binding_params[0] | {"required": False}, binding_params[2]],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "image/*": {"schema": {"type": "string", "format": "binary"}},
                            "multipart/form-data": {
                                "schema": {"type": "object", "properties": {"image": {"type": "string", "format": "binary"}}}
                            },
                        },
                    },
                    "responses": {"200": ok(ref("SoftBindingQueryResult")), **errors},
                }
            },
            "/matches/byBinding": {
                "get": {
                    "summary": "C2PA soft binding resolution: records matching a binding value",
                    "parameters": binding_params,
                    "responses": {"200": ok(ref("SoftBindingQueryResult")), **errors},
                },
                "post": {
                    "summary": "The same, the query in a JSON body",
                    "parameters": [binding_params[2]],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["alg", "value"],
                                    "properties": {"alg": {"type": "string"}, "value": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": {"200": ok(ref("SoftBindingQueryResult")), **errors},
                },
            },
            "/manifests/{manifestId}": {
                "get": {
                    "summary": "The registry record a match names (JSON; Consentry keeps no C2PA manifest store)",
                    "parameters": [{"name": "manifestId", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": ok({"type": "object"}), **errors},
                }
            },
            "/services/supportedAlgorithms": {
                "get": {
                    "summary": "The soft binding algorithms this resolver answers",
                    "responses": {"200": ok({"type": "object"})},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "error_code", "status"],
                    "properties": {
                        "error": {"type": "string"},
                        "error_code": {"type": "string"},
                        "details": {"type": "object"},
                        "status": {"type": "integer"},
                        "schema_version": {"type": "integer"},
                    },
                },
                "VerifyResult": {
                    "type": "object",
                    "properties": {
                        "schema_version": {"type": "integer"},
                        "at": {"type": "integer"},
                        "index": {"type": "string"},
                        "warnings": {"type": "array", "items": {"type": "string"}},
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["path", "verdict"],
                                "properties": {
                                    "path": {"type": "string"},
                                    "verdict": {
                                        "type": "string",
                                        "enum": [
                                            "authorised",
                                            "authorised-then-ended",
                                            "not-authorised",
                                            "derivative",
                                            "unverified-twin",
                                            "twin-asset",
                                            "unknown",
                                        ],
                                    },
                                    "match": {
                                        "type": "string",
                                        "nullable": True,
                                        "enum": ["exact-file", "same-pixels", "perceptual"],
                                    },
                                    "distance": {"type": "integer", "nullable": True},
                                    "twin_id": {"type": "integer", "nullable": True},
                                    "license_id": {"type": "integer", "nullable": True},
                                    "model": {"type": "string", "nullable": True},
                                    "brand": {"type": "string", "nullable": True},
                                    "tx": {"type": "string", "nullable": True},
                                    "trusted": {"type": "boolean", "nullable": True},
                                    "reasons": {"type": "array", "items": {"type": "string"}},
                                    "explain": {"type": "string", "description": "data:image/png;base64,… (with ?explain=true)"},
                                },
                            },
                        },
                    },
                },
                "SoftBindingQueryResult": {
                    "type": "object",
                    "properties": {
                        "matches": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["manifestId"],
                                "properties": {
                                    "manifestId": {
                                        "type": "string",
                                        "example": "urn:consentry:eip155:31337:0x5fbdb2315678afecb367f032d93f642f64180aa3:"
                                        "license:1:use:1",
                                    },
                                    "similarityScore": {
                                        "type": "integer",
                                        "minimum": 0,
                                        "maximum": 100,
                                        "description": "100 same file or pixels; 50-99 perceptual, confirmed by "
                                        "the second stage; under 50 resembles only (a derivative)",
                                    },
                                    "match": {"type": "string"},
                                    "eventLog": {
                                        "type": "object",
                                        "description": "where the record is on chain: chainId, address "
                                        "(the registry), event, topic1, blockNumber, "
                                        "transactionHash, logIndex",
                                    },
                                },
                            },
                        }
                    },
                },
            }
        },
    }


# ---------------------------------------------------------------- the command


def _app_from_env():
    """uvicorn's factory in each worker process: the settings come through the environment."""
    cfg = json.loads(os.environ["CONSENTRY_SERVE_CONFIG"])
    service = Service(Path(cfg["index"]), Limits(**cfg["limits"]), cfg.get("rpc"))
    return create_app(service)


def _index_from_root() -> Path | None:
    ctx = click.get_current_context(silent=True)
    p = ctx.find_root().params.get("index_path") if ctx else None
    return Path(p) if p else None


@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--index", "index_opt", type=click.Path(dir_okay=False), help="The index to serve [default: $CONSENTRY_HOME/index.db]."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes sharing the socket (one per core for throughput).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=Limits.threads,
    show_default=True,
    help="Verifications running at once in each worker.",
)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(0.01, 1024),
    default=Limits.max_upload_bytes / 2**20,
    show_default=True,
    help="Largest request body.",
)
@click.option(
    "--max-megapixels",
    type=click.FloatRange(0.01, 1000),
    default=Limits.max_pixels / 1e6,
    show_default=True,
    help="Largest image (width x height), checked before decoding.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 3600),
    default=Limits.timeout_s,
    show_default=True,
    help="Seconds a request may take, reading the upload included.",
)
@click.option("--rpc", "rpc_url", help="A JSON-RPC endpoint of the chain, to report the index's lag in /v1/health.")
@click.option(
    "--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info", show_default=True
)
def _serve(host, port, index_opt, workers, threads, max_upload_mb, max_megapixels, timeout, rpc_url, log_level):
    """The verifier page and HTTP API over the index (read-only): drop an image in a browser, or
    POST it to /v1/verify for the object `verify --json` prints. The C2PA Soft Binding Resolution
    API is served at /matches/byContent and /matches/byBinding; the schema at /openapi.json.

    \b
    Example:
        consentry serve --port 8000
        curl -F image=@found.jpg http://127.0.0.1:8000/v1/verify
    """
    import uvicorn

    path = Path(index_opt) if index_opt else (_index_from_root() or config.default_index_path())
    limits = Limits(int(max_upload_mb * 2**20), int(max_megapixels * 1e6), Limits.max_files, timeout, threads)
    Service(path, limits, rpc_url)  # fail here, in one line, when the index is missing or unusable
    os.environ["CONSENTRY_SERVE_CONFIG"] = json.dumps({"index": str(path.resolve()), "limits": asdict(limits), "rpc": rpc_url})
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    click.echo(f"serving {path} on http://{host}:{port}/ ({workers} worker(s) x {threads} thread(s); Ctrl-C stops)", err=True)
    uvicorn.run(
        "consentry.serve:_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        limit_concurrency=64 * workers,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=5,
        server_header=False,
        access_log=log_level in ("info", "debug"),
    )


serve_command = click.command("serve", context_settings={"help_option_names": ["-h", "--help"]})(_serve)


def main(argv=None) -> None:
    """`python -m consentry.serve ...`: the command on its own, errors as one line."""
    import sys

    try:
        serve_command.main(argv, prog_name="consentry serve", standalone_mode=False)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if isinstance(e, click.UsageError) else 1)
    except click.exceptions.Abort:
        sys.exit(1)
    except ConsentryError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
