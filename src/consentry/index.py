"""The local SQLite index: derived only from the registry's events (filtered by its address) and
from twin manifests whose leaves prove against a root anchored on chain. Deleting it and running
`sync` again gives the same answers.

Schema (see `migrations`): twins, twin_roots, twin_withdrawals, agent_events, licenses,
license_revocations, publications, fee_withdrawals, twin_assets, manifests, blocks, meta; views
license_status and publications_readable (hex hashes, for Datasette and the sqlite3 shell).
Hashes are BLOBs where there are millions of rows (publications) and 0x-hex TEXT elsewhere.

Sync is incremental from the last synced block, in block ranges, each range one SQLite
transaction that also moves the cursor: a kill at any moment leaves the index at the end of the
last committed range, and the next run continues from there. A reorganisation is detected by
comparing stored block hashes with the chain's, and everything above the fork is re-indexed.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from . import config
from .errors import ChainError, FileProblem, IndexError_
from .rpc import request

# ---------------------------------------------------------------- schema and migrations


def _migrations():
    from sqlite_utils.migrations import Migrations

    m = Migrations("consentry-index")

    @m()
    def m001_initial_schema(db):
        # statement by statement (executescript would commit): the migration is one transaction
        for statement in _SCHEMA_V1.split(";"):
            if statement.strip():
                db.execute(statement)

    return m


_SCHEMA_V1 = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, timestamp INTEGER NOT NULL);
        CREATE TABLE twins (
            twin_id INTEGER PRIMARY KEY, owner TEXT NOT NULL, asset_root TEXT NOT NULL, asset_count INTEGER NOT NULL,
            metadata_hash TEXT NOT NULL, metadata_uri TEXT NOT NULL, block INTEGER NOT NULL, block_time INTEGER NOT NULL,
            tx TEXT NOT NULL);
        CREATE TABLE twin_roots (twin_id INTEGER NOT NULL, asset_root TEXT NOT NULL, asset_count INTEGER NOT NULL,
            block INTEGER NOT NULL, tx TEXT NOT NULL, log_index INTEGER NOT NULL);
        CREATE INDEX twin_roots_twin ON twin_roots(twin_id);
        CREATE TABLE twin_withdrawals (twin_id INTEGER NOT NULL, effective_at INTEGER NOT NULL,
            block INTEGER NOT NULL, tx TEXT NOT NULL, log_index INTEGER NOT NULL);
        CREATE INDEX twin_withdrawals_twin ON twin_withdrawals(twin_id);
        CREATE TABLE agent_events (twin_id INTEGER NOT NULL, agent TEXT NOT NULL, kind TEXT NOT NULL,
            expiry INTEGER, max_duration INTEGER, channels INTEGER, transforms INTEGER, min_fee TEXT,
            block INTEGER NOT NULL, tx TEXT NOT NULL, log_index INTEGER NOT NULL);
        CREATE TABLE licenses (
            license_id INTEGER PRIMARY KEY, twin_id INTEGER NOT NULL, licensee TEXT NOT NULL, grantor TEXT NOT NULL,
            channels INTEGER NOT NULL, transforms INTEGER NOT NULL, territories INTEGER NOT NULL,
            valid_from INTEGER NOT NULL, valid_until INTEGER NOT NULL, max_uses INTEGER NOT NULL,
            fee_per_use TEXT NOT NULL, terms_hash TEXT NOT NULL, block INTEGER NOT NULL, block_time INTEGER NOT NULL,
            tx TEXT NOT NULL);
        CREATE INDEX licenses_twin ON licenses(twin_id);
        CREATE TABLE license_revocations (license_id INTEGER NOT NULL, revoked_by TEXT NOT NULL,
            effective_at INTEGER NOT NULL, block INTEGER NOT NULL, tx TEXT NOT NULL, log_index INTEGER NOT NULL);
        CREATE INDEX license_revocations_license ON license_revocations(license_id);
        CREATE TABLE publications (
            id INTEGER PRIMARY KEY, license_id INTEGER NOT NULL, content_hash BLOB NOT NULL,
            pixel_prefix BLOB NOT NULL, phash INTEGER NOT NULL, channel INTEGER NOT NULL, territory INTEGER NOT NULL,
            transforms INTEGER NOT NULL, use_number INTEGER NOT NULL, block INTEGER NOT NULL,
            block_time INTEGER NOT NULL, tx TEXT NOT NULL, log_index INTEGER NOT NULL);
        CREATE INDEX publications_content ON publications(content_hash);
        CREATE INDEX publications_pixels ON publications(pixel_prefix);
        CREATE TABLE fee_withdrawals (model TEXT NOT NULL, amount TEXT NOT NULL, block INTEGER NOT NULL,
            tx TEXT NOT NULL, log_index INTEGER NOT NULL);
        CREATE TABLE manifests (sha256 TEXT PRIMARY KEY, twin_id INTEGER NOT NULL, path TEXT NOT NULL,
            assets INTEGER NOT NULL);
        CREATE TABLE twin_assets (twin_id INTEGER NOT NULL, name TEXT NOT NULL, content_hash BLOB NOT NULL,
            pixel_hash BLOB NOT NULL, phash INTEGER NOT NULL, manifest TEXT NOT NULL);
        CREATE INDEX twin_assets_content ON twin_assets(content_hash);
        CREATE INDEX twin_assets_pixels ON twin_assets(pixel_hash);
        CREATE VIEW license_status AS
            SELECT l.license_id, l.twin_id, l.licensee, l.valid_from,
                   min(l.valid_until, coalesce((SELECT min(effective_at) FROM license_revocations r
                                                WHERE r.license_id = l.license_id), l.valid_until)) AS ends_at,
                   EXISTS(SELECT 1 FROM license_revocations r WHERE r.license_id = l.license_id) AS revoked,
                   (SELECT min(effective_at) FROM twin_withdrawals w WHERE w.twin_id = l.twin_id) AS twin_withdrawn_at
            FROM licenses l;
        CREATE VIEW publications_readable AS
            SELECT id, license_id, '0x' || lower(hex(content_hash)) AS content_hash,
                   '0x' || lower(hex(pixel_prefix)) AS pixel_prefix,
                   printf('%016x', phash) AS phash, channel, territory, transforms, use_number, block,
                   datetime(block_time, 'unixepoch') AS published_at, tx
            FROM publications
"""


MIGRATIONS = ("m001_initial_schema",)  # every migration's name, in order (checked by a test)

# tables holding chain facts with a block column: what a reorg rolls back
CHAIN_TABLES = ("twins", "twin_roots", "twin_withdrawals", "agent_events", "licenses", "license_revocations",
                "publications", "fee_withdrawals")


def open_db(path: Path, *, create: bool = True):
    """Open (and migrate) the index. Returns a sqlite_utils Database."""
    import sqlite_utils

    if not create and not path.exists():
        raise IndexError_(f"no index at {path}: run `consentry sync` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        db = sqlite_utils.Database(conn)
        _migrations().apply(db)
    except sqlite3.DatabaseError as e:
        raise IndexError_(f"{path} is not a usable index ({e}); delete it and run `consentry sync`") from None
    return db


def open_readonly(path: Path):
    """Open an existing index for lookups with plain sqlite3 (no migrations, fast start)."""
    if not path.exists():
        raise IndexError_(f"no index at {path}: run `consentry sync` first")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        version = conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise IndexError_(f"{path} is not a usable index ({e}); delete it and run `consentry sync`") from None
    if version < len(MIGRATIONS):
        raise IndexError_(f"{path} is from an older version: run `consentry sync` to migrate it")
    return conn


def get_meta(db, key: str, default=None):
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else default


def set_meta(db, key: str, value) -> None:
    db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [key, json.dumps(value)])


# ---------------------------------------------------------------- event decoding


@lru_cache(maxsize=1)
def _event_table() -> dict[str, tuple[str, list[dict]]]:
    from eth_hash.auto import keccak

    from .chain_artifact import abi

    out = {}
    for item in abi():
        if item["type"] == "event" and not item.get("anonymous"):
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            out["0x" + keccak(sig.encode()).hex()] = (item["name"], item["inputs"])
    return out


def _word(data: bytes, i: int) -> int:
    return int.from_bytes(data[32 * i: 32 * i + 32], "big")


def _addr(word: int) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(word.to_bytes(20, "big"))


def _hex32(word: int) -> str:
    return "0x" + word.to_bytes(32, "big").hex()


def _signed64(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


@dataclass
class _Batch:
    rows: dict[str, list]
    blocks: dict[int, tuple[str, int]]


def _decode(logs: list[dict], batch: _Batch) -> int:
    """Append decoded rows for the logs (in chain order); returns the number of events."""
    events = _event_table()
    header = None  # the PublicationsRecorded event that the anonymous Published logs follow
    rows = batch.rows
    for log in logs:
        topics = log["topics"]
        block = int(log["blockNumber"], 16)
        ts = int(log["blockTimestamp"], 16) if log.get("blockTimestamp") else None
        batch.blocks[block] = (log["blockHash"], ts)
        tx, li = log["transactionHash"], int(log["logIndex"], 16)
        data = bytes.fromhex(log["data"][2:])
        name = events.get(topics[0], (None,))[0]
        if name is None:  # anonymous Published: topic 0 is the content hash
            if header is None or header["tx"] != tx:
                raise IndexError_(f"a publication log in {tx} has no PublicationsRecorded header")
            prefix, phash = data[:16], int.from_bytes(data[16:24], "big")
            rows["publications"].append((header["license_id"], bytes.fromhex(topics[0][2:]), prefix, _signed64(phash),
                                         header["channel"], header["territory"], header["transforms"],
                                         header["next_use"], block, ts, tx, li))
            header["next_use"] += 1
            continue
        header = None
        t1 = int(topics[1], 16) if len(topics) > 1 else None
        if name == "PublicationsRecorded":
            header = {"tx": tx, "license_id": t1, "channel": _word(data, 0), "territory": _word(data, 1),
                      "transforms": _word(data, 2), "next_use": _word(data, 3)}
        elif name == "TwinRegistered":
            from eth_abi import decode

            root, count, meta_hash, uri = decode(["bytes32", "uint32", "bytes32", "string"], data)
            owner = _addr(int(topics[2], 16))
            rows["twins"].append((t1, owner, "0x" + root.hex(), count, "0x" + meta_hash.hex(), uri, block, ts, tx))
            rows["twin_roots"].append((t1, "0x" + root.hex(), count, block, tx, li))
        elif name == "TwinAssetsAdded":
            rows["twin_roots"].append((t1, _hex32(_word(data, 0)), _word(data, 1), block, tx, li))
        elif name == "TwinWithdrawn":
            rows["twin_withdrawals"].append((t1, _word(data, 0), block, tx, li))
        elif name == "AgentAppointed":
            rows["agent_events"].append((t1, _addr(int(topics[2], 16)), "appointed", _word(data, 0), _word(data, 1),
                                         _word(data, 2), _word(data, 3), str(_word(data, 4)), block, tx, li))
        elif name == "AgentRevoked":
            rows["agent_events"].append((t1, _addr(int(topics[2], 16)), "revoked", None, None, None, None, None,
                                         block, tx, li))
        elif name == "LicenseGranted":
            rows["licenses"].append((t1, int(topics[2], 16), _addr(int(topics[3], 16)), _addr(_word(data, 0)),
                                     _word(data, 1), _word(data, 2), _word(data, 3), _word(data, 4), _word(data, 5),
                                     _word(data, 6), str(_word(data, 7)), _hex32(_word(data, 8)), block, ts, tx))
        elif name == "LicenseRevoked":
            rows["license_revocations"].append((t1, _addr(int(topics[2], 16)), _word(data, 0), block, tx, li))
        elif name == "FeesWithdrawn":
            rows["fee_withdrawals"].append((_addr(t1), str(_word(data, 0)), block, tx, li))
        # OfferCancelled: nothing the index answers with
    return len(logs)


_INSERTS = {
    "twins": 9, "twin_roots": 6, "twin_withdrawals": 5, "agent_events": 11, "licenses": 15,
    "license_revocations": 6, "fee_withdrawals": 5,
}
_PUB_COLUMNS = ("license_id, content_hash, pixel_prefix, phash, channel, territory, transforms, use_number, block, "
                "block_time, tx, log_index")


# ---------------------------------------------------------------- sync


@dataclass
class SyncResult:
    from_block: int
    to_block: int
    events: int
    reorg_from: int | None
    manifests: int
    assets: int
    seconds: float


class Syncer:
    """Brings one index up to date with one registry on one chain."""

    def __init__(self, db, rpc_url: str, registry: str, chain_id: int, deploy_block: int = 0,
                 confirmations: int = 0, range_size: int = 2000,
                 progress: Callable[[int, int], None] | None = None):
        self.db, self.rpc_url, self.registry = db, rpc_url, registry
        self.chain_id, self.deploy_block, self.confirmations = chain_id, deploy_block, confirmations
        self.range_size, self.progress = range_size, progress

    def rpc(self, method, params=None):
        return request(self.rpc_url, method, params, timeout=60)

    def check_identity(self) -> None:
        """One index, one registry on one chain (told apart by its genesis block, too: dev chains
        share chain ids and deployment addresses)."""
        reg = get_meta(self.db, "registry")
        genesis = self._block_hash(0)
        if reg is None:
            with self.db.atomic():
                set_meta(self.db, "registry", self.registry)
                set_meta(self.db, "chain_id", self.chain_id)
                set_meta(self.db, "genesis", genesis)
                set_meta(self.db, "deploy_block", self.deploy_block)
                set_meta(self.db, "synced_block", self.deploy_block - 1 if self.deploy_block else -1)
        elif (reg.lower() != self.registry.lower() or get_meta(self.db, "chain_id") != self.chain_id
              or get_meta(self.db, "genesis") != genesis):
            raise IndexError_(
                f"this index belongs to registry {reg} on another chain (id {get_meta(self.db, 'chain_id')}, "
                f"genesis {str(get_meta(self.db, 'genesis'))[:10]}…); use another --index for this one")

    def _block_hash(self, number: int) -> str | None:
        b = self.rpc("eth_getBlockByNumber", [hex(number), False])
        return b["hash"] if b else None

    def detect_reorg(self) -> int | None:
        """Roll back above the fork when stored block hashes differ from the chain's; returns the
        first block re-indexed, or None."""
        synced = get_meta(self.db, "synced_block", -1)
        if synced < self.deploy_block or synced < 0:
            return None
        stored = self.db.execute("SELECT hash FROM blocks WHERE number = ?", [synced]).fetchone()
        if stored and self._block_hash(synced) == stored[0]:
            return None
        good = self.deploy_block - 1 if self.deploy_block else -1
        for number, h in self.db.execute("SELECT number, hash FROM blocks WHERE number < ? ORDER BY number DESC",
                                         [synced]).fetchall():
            if self._block_hash(number) == h:
                good = number
                break
        self.rollback_to(good)
        return good + 1

    def rollback_to(self, good: int) -> None:
        with self.db.atomic():
            for t in CHAIN_TABLES:
                self.db.execute(f"DELETE FROM {t} WHERE block > ?", [good])
            self.db.execute("DELETE FROM blocks WHERE number > ?", [good])
            # assets proven only by roots that are gone, and their manifests, go too (re-imported later)
            self.db.execute("""DELETE FROM twin_assets WHERE twin_id NOT IN (SELECT twin_id FROM twins)""")
            self.db.execute("""DELETE FROM manifests WHERE twin_id NOT IN (SELECT twin_id FROM twins)""")
            set_meta(self.db, "synced_block", good)
            self._bump_generation()

    def _bump_generation(self) -> None:
        set_meta(self.db, "generation", get_meta(self.db, "generation", 0) + 1)

    def _logs(self, start: int, end: int) -> list[dict]:
        return self.rpc("eth_getLogs", [{"address": self.registry, "fromBlock": hex(start), "toBlock": hex(end)}])

    def _commit_range(self, end: int, batch: _Batch) -> None:
        # timestamps missing from logs (older nodes): fetch those blocks once
        for number, (h, ts) in list(batch.blocks.items()):
            if ts is None:
                b = self.rpc("eth_getBlockByNumber", [hex(number), False])
                batch.blocks[number] = (h, int(b["timestamp"], 16))
        if end not in batch.blocks:
            b = self.rpc("eth_getBlockByNumber", [hex(end), False])
            batch.blocks[end] = (b["hash"], int(b["timestamp"], 16))
        rows = batch.rows
        for name in ("publications", "twins", "licenses"):  # fill block_time from the block table
            col = 9 if name == "publications" else (7 if name == "twins" else 13)
            rows[name] = [r if r[col] is not None else r[:col] + (batch.blocks[r[col - 1]][1],) + r[col + 1:]
                          for r in rows[name]]
        with self.db.atomic():
            for table, n in _INSERTS.items():
                if rows[table]:
                    self.db.conn.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * n)})", rows[table])
            if rows["publications"]:
                self.db.conn.executemany(
                    f"INSERT INTO publications ({_PUB_COLUMNS}) VALUES ({','.join('?' * 12)})", rows["publications"])
                self._bump_generation()
            self.db.conn.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?)",
                                     [(n, h, ts) for n, (h, ts) in batch.blocks.items()])
            set_meta(self.db, "synced_block", end)

    def run(self, manifests: list[Path] = ()) -> SyncResult:
        import time

        t0 = time.perf_counter()
        self.check_identity()
        reorg = self.detect_reorg()
        head = int(self.rpc("eth_blockNumber"), 16)
        target = head - self.confirmations
        start = get_meta(self.db, "synced_block", -1) + 1
        first, events = start, 0
        while start <= target:
            end = min(start + self.range_size - 1, target)
            try:
                logs = self._logs(start, end)
            except ChainError as e:
                if end > start and ("too many" in str(e).lower() or "limit" in str(e).lower()):
                    self.range_size = max(1, (end - start + 1) // 2)
                    continue
                raise
            batch = _Batch({t: [] for t in (*_INSERTS, "publications")}, {})
            events += _decode(logs, batch)
            self._commit_range(end, batch)
            if self.progress:
                self.progress(end - first + 1, target - first + 1)
            start = end + 1
        n_manifests, n_assets = self.import_manifests(manifests)
        return SyncResult(first, target, events, reorg, n_manifests, n_assets, time.perf_counter() - t0)

    # ------------------------------------------------------------ manifests

    def import_manifests(self, extra: list[Path] = ()) -> tuple[int, int]:
        """Import the given manifests (copied into the data folder) and any new ones there."""
        from . import twins
        from .files import write_json_atomic

        for p in extra:
            m = twins.load_manifest(p)
            self._check_manifest_target(m, p)
            dest = twins.manifest_path(self.chain_id, self.registry, m["twin_id"])
            if Path(p).resolve() != dest.resolve():
                write_json_atomic(dest, m)
        imported = assets = 0
        d = config.manifests_dir()
        prefix = f"twin-{self.chain_id}-{self.registry[2:10].lower()}-"
        for p in sorted(d.glob(prefix + "*.json")) if d.exists() else []:
            raw = p.read_bytes()
            sha = hashlib.sha256(raw).hexdigest()
            if self.db.execute("SELECT 1 FROM manifests WHERE sha256 = ?", [sha]).fetchone():
                continue
            try:
                m = twins.load_manifest(p)
            except FileProblem:
                continue
            roots = {bytes.fromhex(r[0][2:]) for r in self.db.execute(
                "SELECT asset_root FROM twin_roots WHERE twin_id = ?", [m["twin_id"]]).fetchall()}
            if not roots:
                continue  # its twin is not (yet) on chain in what we synced
            good = twins.check_manifest(m, roots)
            with self.db.atomic():
                self.db.conn.executemany(
                    "INSERT INTO twin_assets VALUES (?, ?, ?, ?, ?, ?)",
                    [(m["twin_id"], a["name"], a["content_hash"], a["pixel_hash"], _signed64(a["phash"]), sha)
                     for a in good])
                self.db.execute("INSERT INTO manifests VALUES (?, ?, ?, ?)", [sha, m["twin_id"], p.name, len(good)])
            imported += 1
            assets += len(good)
        return imported, assets

    def _check_manifest_target(self, m: dict, p) -> None:
        if m.get("chain_id") != self.chain_id or str(m.get("registry", "")).lower() != self.registry.lower():
            raise FileProblem(f"manifest {p} is for registry {m.get('registry')} on chain {m.get('chain_id')}, "
                              f"not {self.registry} on chain {self.chain_id}")
