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
import secrets
import json
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from . import config
from .errors import ChainError, FileProblem, IndexError_

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

    @m()
    def m002_registry_v2(db):
        for statement in _SCHEMA_V2.split(";"):
            if statement.strip():
                db.execute(statement)

    @m()
    def m003_registry_v21(db):
        db.execute("ALTER TABLE publications ADD COLUMN disclosures INTEGER")

    @m()
    def m004_registry_v22(db):
        for statement in _SCHEMA_V22.split(";"):
            if statement.strip():
                db.execute(statement)

    return m


_SCHEMA_V22 = """
        ALTER TABLE licenses ADD COLUMN currency TEXT;
        ALTER TABLE licenses ADD COLUMN flags INTEGER;
        ALTER TABLE agent_events ADD COLUMN currency TEXT;
        ALTER TABLE agent_events ADD COLUMN training INTEGER;
        ALTER TABLE fee_withdrawals ADD COLUMN currency TEXT;
        CREATE TABLE license_suspensions (license_id INTEGER NOT NULL, kind TEXT NOT NULL, by TEXT NOT NULL,
            block INTEGER NOT NULL, block_time INTEGER NOT NULL, tx TEXT NOT NULL, log_index INTEGER NOT NULL);
        CREATE INDEX license_suspensions_license ON license_suspensions(license_id);
        CREATE TABLE terms_documents (license_id INTEGER PRIMARY KEY, terms_hash TEXT NOT NULL, document TEXT NOT NULL)
"""


_SCHEMA_V2 = """
        ALTER TABLE publications ADD COLUMN signature BLOB;
        ALTER TABLE agent_events ADD COLUMN territories INTEGER;
        ALTER TABLE agent_events ADD COLUMN max_uses INTEGER;
        CREATE TABLE attestations (twin_id INTEGER NOT NULL, attester TEXT NOT NULL, kind TEXT NOT NULL,
            owner TEXT, statement_hash TEXT, block INTEGER NOT NULL, block_time INTEGER NOT NULL, tx TEXT NOT NULL,
            log_index INTEGER NOT NULL);
        CREATE INDEX attestations_twin ON attestations(twin_id);
        CREATE TABLE sync_problems (block INTEGER NOT NULL, tx TEXT, log_index INTEGER, problem TEXT NOT NULL);
        DROP VIEW publications_readable;
        CREATE VIEW publications_readable AS
            SELECT id, license_id, '0x' || lower(hex(content_hash)) AS content_hash,
                   '0x' || lower(hex(pixel_prefix)) AS pixel_prefix,
                   printf('%016x', phash) AS phash, '0x' || lower(hex(signature)) AS signature,
                   channel, territory, transforms, use_number, block,
                   datetime(block_time, 'unixepoch') AS published_at, tx
            FROM publications
"""


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


# every migration's name, in order (checked by a test)
MIGRATIONS = ("m001_initial_schema", "m002_registry_v2", "m003_registry_v21", "m004_registry_v22")

# tables holding chain facts with a block column: what a reorg rolls back
CHAIN_TABLES = (
    "twins",
    "twin_roots",
    "twin_withdrawals",
    "agent_events",
    "licenses",
    "license_revocations",
    "publications",
    "fee_withdrawals",
    "attestations",
    "sync_problems",
    "license_suspensions",
)


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
    db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, json.dumps(value)],
    )


def skipped_log_warnings(db) -> list[str]:
    """What a verdict from this index should carry when sync skipped logs it could not decode."""
    skipped = db.execute("SELECT count(*) FROM sync_problems").fetchone()[0]
    if not skipped:
        return []
    return [
        f"the index skipped {skipped} registry log(s) it could not decode when it synced: "
        "check it with `consentry sync --check` against another endpoint"
    ]


def counts(db) -> dict[str, int]:
    """What the index holds, table by table (for `sync`'s summary)."""
    tables = ("twins", "licenses", "publications", "twin_assets", "terms_documents")
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def keep_terms_documents(db, given: list[dict] = ()) -> tuple[int, list[dict]]:
    """Store the terms documents of indexed licenses that are available: those given (e.g. by `sync --terms`)
    and those this user keeps (termsdoc's store). A document is kept for a license only when it hashes to the
    license's terms hash AND says what the license's terms say (another license reusing the hash over other
    terms gets nothing). Returns (documents newly stored, given documents no license takes)."""
    from . import termsdoc

    by_hash = {"0x" + termsdoc.terms_hash(d).hex(): d for d in given}
    rows = db.execute(
        """SELECT license_id, twin_id, licensee, channels, transforms, territories, valid_from, valid_until, max_uses,
                  fee_per_use, currency, flags, terms_hash
           FROM licenses WHERE license_id NOT IN (SELECT license_id FROM terms_documents)"""
    ).fetchall()
    keys = ["twinId", "licensee", "channels", "transforms", "territories", "validFrom", "validUntil", "maxUses", "feePerUse"]
    kept_here = termsdoc.kept_hashes()  # one listing of the user's store, not a file lookup per license
    stored, used = 0, set()
    with db.atomic():
        for row in rows:
            h = row[12].lower()
            doc = by_hash.get(h) or (termsdoc.load(bytes.fromhex(h[2:])) if h[2:] in kept_here else None)
            fields = dict(zip(keys, row[1:10]), currency=row[10], flags=row[11], termsHash=h)
            if doc is not None and termsdoc.consistent(doc, termsdoc.granted_terms(fields)):
                db.execute("INSERT INTO terms_documents VALUES (?, ?, ?)", [row[0], h, termsdoc.canonical(doc).decode()])
                stored += 1
                used.add(h)
    taken = used | {h for (h,) in db.execute("SELECT DISTINCT lower(terms_hash) FROM terms_documents")}
    return stored, [d for h, d in by_hash.items() if h not in taken]


# ---------------------------------------------------------------- event decoding


@dataclass(frozen=True)
class _EventShape:
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) in topic order
    data: tuple[tuple[str, str], ...]  # (name, type) in data order
    static: bool  # every data field is one static word (decoded without eth_abi)


@lru_cache(maxsize=1)
def _event_table() -> dict[str, _EventShape]:
    """topic0 -> the event's shape, from the registry's ABI (no anonymous events in v2)."""
    from eth_hash.auto import keccak

    from .chain_artifact import abi

    out = {}
    for item in abi():
        if item["type"] == "event" and not item.get("anonymous"):
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            data = tuple((i["name"], i["type"]) for i in item["inputs"] if not i["indexed"])
            out["0x" + keccak(sig.encode()).hex()] = _EventShape(
                item["name"],
                tuple((i["name"], i["type"]) for i in item["inputs"] if i["indexed"]),
                data,
                not any(t in ("string", "bytes") or t.endswith("]") for _, t in data),
            )
    return out


class _Undecodable(Exception):
    pass


@lru_cache(maxsize=None)
def _limit(typ: str) -> tuple[int, int]:
    """(kind, bound) of a static type: 0 uintN (value < bound), 1 address, 2 bytesN (low-bits mask), 3 bool."""
    if typ.startswith("uint"):
        return 0, 1 << int(typ[4:] or 256)
    if typ == "address":
        return 1, 1 << 160
    if typ.startswith("bytes") and typ != "bytes":
        return 2, (1 << (8 * (32 - int(typ[5:])))) - 1
    if typ == "bool":
        return 3, 2
    raise _Undecodable(f"unsupported type {typ}")


def _static(word: int, typ: str):
    """A 32-byte ABI word as a value of a static type, refusing non-canonical padding."""
    kind, bound = _limit(typ)
    if kind == 0:
        if word >= bound:
            raise _Undecodable(f"{typ} out of range")
        return word
    if kind == 2:
        if word & bound:
            raise _Undecodable(f"{typ} has non-zero padding")
        return word.to_bytes(32, "big")[: 32 - (bound.bit_length() // 8)]
    if kind == 1:
        if word >= bound:
            raise _Undecodable("address out of range")
        return _addr(word)
    if word >= bound:
        raise _Undecodable("bool out of range")
    return bool(word)


def decode_log(log: dict, shape: _EventShape) -> dict:
    """A log's arguments by name, decoded by the ABI shape; _Undecodable when it does not fit."""
    topics = log["topics"]
    if len(topics) != 1 + len(shape.indexed):
        raise _Undecodable(f"{shape.name} with {len(topics) - 1} indexed topics, expected {len(shape.indexed)}")
    args = {}
    try:
        for (name, typ), t in zip(shape.indexed, topics[1:]):
            args[name] = _static(int(t, 16), typ)
        data = bytes.fromhex(log["data"][2:])
    except ValueError:
        raise _Undecodable("malformed topic or data hex") from None
    if not shape.static:
        types = [t for _, t in shape.data]
        from eth_abi import decode

        try:
            values = decode(types, data, strict=True)
        except Exception as e:  # eth_abi raises several kinds; any means "does not fit"
            raise _Undecodable(f"data does not decode as {shape.name}: {type(e).__name__}") from None
        for (name, typ), v in zip(shape.data, values):
            args[name] = _addr(int(v, 16)) if typ == "address" else v
    else:
        if len(data) != 32 * len(shape.data):
            raise _Undecodable(f"{shape.name} data of {len(data)} bytes, expected {32 * len(shape.data)}")
        for i, (name, typ) in enumerate(shape.data):
            args[name] = _static(_word(data, i), typ)
    return args


def _word(data: bytes, i: int) -> int:
    return int.from_bytes(data[32 * i : 32 * i + 32], "big")


def _addr(word: int) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(word.to_bytes(20, "big"))


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def _signed64(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


@dataclass
class _Batch:
    rows: dict[str, list]
    blocks: dict[int, tuple[str, int]]
    problems: list[tuple[int, str | None, int | None, str]]
    logs: int = 0  # logs of the registry seen (decoded or not): compared with counts().events


# the signature's bytes in the Published event's second word: signature.SIGNATURE_BYTES - 8 (a test checks;
# not imported, so that the index does not load numpy)
SIGNATURE_TAIL = 30


def _decode(logs: list[dict], batch: _Batch, registry: str) -> int:
    """Append decoded rows for the logs (in chain order); returns the number of events decoded.
    A log from another address is refused outright (the RPC is lying); a log of the registry that
    does not fit its ABI is skipped and reported, never allowed to abort the range."""
    events = _event_table()
    header = None  # the PublicationsRecorded event that the Published logs follow
    rows = batch.rows
    decoded = 0
    reg = registry.lower()
    last = (-1, -1)
    for log in logs:
        if str(log.get("address", "")).lower() != reg:
            raise ChainError(
                f"the RPC returned a log of {log.get('address')} for a filter on the registry {registry}: "
                "it cannot be trusted; use another endpoint"
            )
        batch.logs += 1
        try:
            block = int(log["blockNumber"], 16)
            tx, li = log["transactionHash"], int(log["logIndex"], 16)
            ts = int(log["blockTimestamp"], 16) if log.get("blockTimestamp") else None
            block_hash = log["blockHash"]
        except (KeyError, TypeError, ValueError):
            raise ChainError("the RPC returned a malformed log (no block number, hash, index or transaction)") from None
        if (block, li) <= last:  # chain order, no repeats: reordering could flip revoke/attest sequences
            raise ChainError(
                "the RPC returned the registry's logs out of chain order (or repeated): it cannot be "
                "trusted; use another endpoint"
            )
        last = (block, li)
        if batch.blocks.get(block, (block_hash,))[0] != block_hash:
            raise ChainError(f"the RPC returned logs of block {block} with two different block hashes")
        batch.blocks[block] = (block_hash, ts)
        topics = log.get("topics") or []
        shape = events.get(topics[0].lower()) if topics else None
        data_hex = log.get("data") or ""
        try:
            if shape is None:
                raise _Undecodable("not an event of the registry's ABI")
            if shape.name == "Published" and len(topics) == 2 and len(data_hex) == 130:
                # the bulk of all logs: checked and split directly (two bytes32 words)
                try:
                    a = {
                        "contentHash": bytes.fromhex(topics[1][2:]),
                        "imprint": bytes.fromhex(data_hex[2:66]),
                        "signature": bytes.fromhex(data_hex[66:130]),
                    }
                except ValueError:
                    raise _Undecodable("malformed topic or data hex") from None
                if len(a["contentHash"]) != 32:
                    raise _Undecodable("Published with a malformed content hash topic")
                if a["signature"][SIGNATURE_TAIL:].strip(b"\0"):
                    raise _Undecodable("Published with non-zero padding after the signature")
            else:
                a = decode_log(log, shape)
        except _Undecodable as e:
            batch.problems.append((block, tx, li, str(e)))
            header = None if shape is None or shape.name != "Published" else header
            continue
        name = shape.name
        decoded += 1
        if name == "Published":
            if header is None or header["tx"] != tx:
                batch.problems.append((block, tx, li, "Published without its PublicationsRecorded header"))
                continue
            # imprint: pixel prefix (16) ‖ central pHash (8) ‖ the signature's first 8 bytes; the
            # rest of the signature opens the event's `signature` word (zero-padded)
            imp = a["imprint"]
            rows["publications"].append(
                (
                    header["license_id"],
                    a["contentHash"],
                    imp[:16],
                    _signed64(int.from_bytes(imp[16:24], "big")),
                    header["channel"],
                    header["territory"],
                    header["transforms"],
                    header["next_use"],
                    block,
                    ts,
                    tx,
                    li,
                    imp[24:32] + a["signature"][:SIGNATURE_TAIL],
                    header["disclosures"],
                )
            )
            header["next_use"] += 1
            continue
        header = None
        if name == "PublicationsRecorded":
            header = {
                "tx": tx,
                "license_id": a["licenseId"],
                "channel": a["channel"],
                "territory": a["territory"],
                "transforms": a["transforms"],
                "disclosures": a["disclosures"],
                "next_use": a["firstUse"],
            }
        elif name == "TwinRegistered":
            rows["twins"].append(
                (
                    a["twinId"],
                    a["owner"],
                    _hex(a["assetRoot"]),
                    a["assetCount"],
                    _hex(a["metadataHash"]),
                    a["metadataURI"],
                    block,
                    ts,
                    tx,
                )
            )
            rows["twin_roots"].append((a["twinId"], _hex(a["assetRoot"]), a["assetCount"], block, tx, li))
        elif name == "TwinAssetsAdded":
            rows["twin_roots"].append((a["twinId"], _hex(a["assetRoot"]), a["assetCount"], block, tx, li))
        elif name == "TwinWithdrawn":
            rows["twin_withdrawals"].append((a["twinId"], a["effectiveAt"], block, tx, li))
        elif name == "AgentAppointed":
            rows["agent_events"].append(
                (
                    a["twinId"],
                    a["agent"],
                    "appointed",
                    a["expiry"],
                    a["maxDuration"],
                    a["channels"],
                    a["transforms"],
                    str(a["minFee"]),
                    block,
                    tx,
                    li,
                    a["territories"],
                    a["maxUses"],
                    a["currency"],
                    int(a["training"]),
                )
            )
        elif name == "AgentRevoked":
            rows["agent_events"].append(
                (a["twinId"], a["agent"], "revoked", None, None, None, None, None, block, tx, li, None, None, None, None)
            )
        elif name == "LicenseGranted":
            rows["licenses"].append(
                (
                    a["licenseId"],
                    a["twinId"],
                    a["licensee"],
                    a["grantor"],
                    a["channels"],
                    a["transforms"],
                    a["territories"],
                    a["validFrom"],
                    a["validUntil"],
                    a["maxUses"],
                    str(a["feePerUse"]),
                    _hex(a["termsHash"]),
                    block,
                    ts,
                    tx,
                    a["currency"],
                    a["flags"],
                )
            )
        elif name in ("LicenseSuspended", "LicenseResumed"):
            kind = "suspended" if name == "LicenseSuspended" else "resumed"
            rows["license_suspensions"].append((a["licenseId"], kind, a["by"], block, ts, tx, li))
        elif name == "LicenseRevoked":
            rows["license_revocations"].append((a["licenseId"], a["by"], a["effectiveAt"], block, tx, li))
        elif name == "FeesWithdrawn":
            rows["fee_withdrawals"].append((a["model"], str(a["amount"]), block, tx, li, a["currency"]))
        elif name == "TwinAttested":
            rows["attestations"].append(
                (a["twinId"], a["attester"], "attested", a["owner"], _hex(a["statementHash"]), block, ts, tx, li)
            )
        elif name == "TwinAttestationRevoked":
            rows["attestations"].append((a["twinId"], a["attester"], "revoked", None, None, block, ts, tx, li))
        # OfferCancelled: nothing the index answers with
    return decoded


_INSERTS = {
    "twins": 9,
    "twin_roots": 6,
    "twin_withdrawals": 5,
    "agent_events": 15,
    "licenses": 17,
    "license_revocations": 6,
    "fee_withdrawals": 6,
    "attestations": 9,
    "license_suspensions": 7,
}
_PUB_COLUMNS = (
    "license_id, content_hash, pixel_prefix, phash, channel, territory, transforms, use_number, block, "
    "block_time, tx, log_index, signature, disclosures"
)


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
    problems: list[str]


class IndexMismatch(IndexError_):
    """What the index decoded does not match the registry's own state."""

    code = "index_mismatch"


class _ReorgDuringRange(Exception):
    pass


# counts() selector: keccak256("counts()")[:4]
_COUNTS = "0x817cc1ea"


class Syncer:
    """Brings one index up to date with one registry on one chain, and proves it saw every log:
    after each range the number of registry logs decoded so far must equal the registry's own
    event counter at that range's last block (read by block hash), every log's block hash must be
    the canonical one, and each range's first block must link by parent hash to the last block of
    the range before."""

    def __init__(
        self,
        db,
        rpc_url,
        registry: str,
        chain_id: int,
        deploy_block: int = 0,
        confirmations: int = 0,
        range_size: int = 2000,
        progress: Callable[[int, int], None] | None = None,
        deployed_at_start: bool = False,
    ):
        """`rpc_url`: a URL or an `endpoint.Endpoint`. `range_size`: blocks per eth_getLogs call at
        most; fewer while the provider refuses ranges (its caps are learnt, and forgotten again)."""
        from .endpoint import Endpoint, RangeSizer

        self.ep = rpc_url if isinstance(rpc_url, Endpoint) else Endpoint.for_url(rpc_url)
        self.db, self.rpc_url, self.registry = db, self.ep.url, registry
        self.chain_id, self.deploy_block, self.confirmations = chain_id, deploy_block, confirmations
        self.range_size, self.progress = range_size, progress
        self.sizer = RangeSizer(range_size, range_size)
        # `deploy_block` is the registry's own deployment block: nothing before it to count (and a
        # non-archive node could not answer a call at the block before it)
        self.deployed_at_start = deployed_at_start

    def rpc(self, method, params=None):
        return self.ep.call(method, params)

    def rpc_batch(self, calls):
        return self.ep.batch(calls)

    def check_identity(self) -> None:
        """One index, one registry on one chain (told apart by its genesis block, too: dev chains
        share chain ids and deployment addresses)."""
        reg = get_meta(self.db, "registry")
        genesis = self._block_hash(0)
        if reg is None:
            start = self.deploy_block
            # a new index starting after the deployment counts from the registry's counter there
            seen = self._event_counter(hex(start - 1)) if start > 0 and not self.deployed_at_start else 0
            with self.db.atomic():
                set_meta(self.db, "registry", self.registry)
                set_meta(self.db, "chain_id", self.chain_id)
                set_meta(self.db, "genesis", genesis)
                set_meta(self.db, "deploy_block", self.deploy_block)
                set_meta(self.db, "synced_block", self.deploy_block - 1 if self.deploy_block else -1)
                set_meta(self.db, "events_seen", seen)
                set_meta(self.db, "partial", seen > 0)  # started after some of the registry's events
                # binds caches derived from this index (the perceptual tables) to this very file
                set_meta(self.db, "index_id", secrets.token_hex(16))
        elif (
            reg.lower() != self.registry.lower()
            or get_meta(self.db, "chain_id") != self.chain_id
            or get_meta(self.db, "genesis") != genesis
        ):
            raise IndexError_(
                f"this index belongs to registry {reg} on another chain (id {get_meta(self.db, 'chain_id')}, "
                f"genesis {str(get_meta(self.db, 'genesis'))[:10]}…); use another --index for this one"
            )

    def _block_hash(self, number: int) -> str | None:
        b = self.rpc("eth_getBlockByNumber", [hex(number), False])
        return b["hash"] if b else None

    def _event_counter(self, block) -> int:
        """The registry's event counter at a block (a hex number, or a {"blockHash": …} object)."""
        try:
            out = self.rpc("eth_call", [{"to": self.registry, "data": _COUNTS}, block])
            return _word(bytes.fromhex(out[2:]), 2)
        except (ValueError, TypeError, AttributeError):
            raise ChainError(
                f"the registry at {self.registry} does not answer counts(): is it a Consentry registry of version 2 or later?"
            ) from None

    def detect_reorg(self) -> int | None:
        """Roll back above the fork when stored block hashes differ from the chain's; returns the
        first block re-indexed, or None. A block hash commits to all its ancestors, so an unchanged
        last block means an unchanged past; the fork point is found by walking stored blocks down."""
        synced = get_meta(self.db, "synced_block", -1)
        if synced < self.deploy_block or synced < 0:
            return None
        stored = self.db.execute("SELECT hash FROM blocks WHERE number = ?", [synced]).fetchone()
        if stored and self._block_hash(synced) == stored[0]:
            return None
        good = self.deploy_block - 1 if self.deploy_block else -1
        for number, h in self.db.execute(
            "SELECT number, hash FROM blocks WHERE number < ? ORDER BY number DESC", [synced]
        ).fetchall():
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
            # a document follows its license: one the reorganisation removed takes its document along
            self.db.execute("""DELETE FROM terms_documents WHERE license_id NOT IN (SELECT license_id FROM licenses)""")
            set_meta(self.db, "synced_block", good)
            seen = self._event_counter(hex(good)) if good >= 0 else 0
            set_meta(self.db, "events_seen", seen)
            self._bump_generation()

    def _bump_generation(self) -> None:
        set_meta(self.db, "generation", get_meta(self.db, "generation", 0) + 1)

    def _logs(self, start: int, end: int) -> list[dict]:
        """The registry's logs of blocks start..end in one call (RangeTooLarge if the provider caps it)."""
        return self.ep.logs_once({"address": self.registry}, start, end)

    def _headers(self, numbers: list[int]) -> dict[int, dict]:
        got = self.rpc_batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        out = {}
        for n, b in zip(numbers, got):
            if not isinstance(b, dict) or int(b.get("number", "0x-1"), 16) != n:
                raise ChainError(f"the RPC returned no or a wrong header for block {n}")
            out[n] = b
        return out

    def _verify_range(self, start: int, end: int, batch: _Batch) -> None:
        """Canonical hashes for every log's block, the parent link to the previous range, and the
        registry's event counter at `end`; fills missing block timestamps."""
        wanted = sorted(set(batch.blocks) | {start, end})
        headers = self._headers(wanted)
        for n, (h, ts) in list(batch.blocks.items()):
            if headers[n]["hash"] != h:
                raise _ReorgDuringRange(n)
            header_ts = int(headers[n]["timestamp"], 16)
            if ts is not None and ts != header_ts:
                raise ChainError(
                    f"the RPC gave logs of block {n} a timestamp its own header contradicts "
                    f"({ts} vs {header_ts}): it cannot be trusted; use another endpoint"
                )
            batch.blocks[n] = (h, header_ts)
        batch.blocks[end] = (headers[end]["hash"], int(headers[end]["timestamp"], 16))
        prev = self.db.execute("SELECT hash FROM blocks WHERE number = ?", [start - 1]).fetchone()
        if prev and headers[start]["parentHash"] != prev[0]:
            raise _ReorgDuringRange(start)
        try:
            counter = self._event_counter({"blockHash": headers[end]["hash"]})
        except ChainError:
            counter = self._event_counter(hex(end))
        before = get_meta(self.db, "events_seen", 0)
        if counter != before + batch.logs:
            gap = counter - before - batch.logs
            what = f"omitted {gap} log(s)" if gap > 0 else f"invented {-gap} log(s)"
            raise IndexMismatch(
                f"the RPC returned {batch.logs} registry log(s) for blocks {start}..{end}, but the registry "
                f"emitted {counter - before}: the endpoint {what}; nothing was indexed for these blocks — "
                "retry, or use another RPC endpoint"
            )

    def _commit_range(self, end: int, batch: _Batch) -> None:
        rows = batch.rows
        for name, col in (("publications", 9), ("twins", 7), ("licenses", 13), ("attestations", 6), ("license_suspensions", 4)):
            rows[name] = [
                r if r[col] is not None else r[:col] + (batch.blocks[r[col - 1]][1],) + r[col + 1 :] for r in rows[name]
            ]
        with self.db.atomic():
            for table, n in _INSERTS.items():
                if rows[table]:
                    self.db.conn.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * n)})", rows[table])
            if rows["publications"]:
                self.db.conn.executemany(
                    f"INSERT INTO publications ({_PUB_COLUMNS}) VALUES ({','.join('?' * 14)})", rows["publications"]
                )
            if batch.problems:
                self.db.conn.executemany("INSERT INTO sync_problems VALUES (?, ?, ?, ?)", batch.problems)
            if any(rows.values()):
                self._bump_generation()
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?)", [(n, h, ts) for n, (h, ts) in batch.blocks.items()]
            )
            set_meta(self.db, "synced_block", end)
            set_meta(self.db, "events_seen", get_meta(self.db, "events_seen", 0) + batch.logs)

    def run(self, manifests: list[Path] = ()) -> SyncResult:
        import time

        from .endpoint import RangeTooLarge

        t0 = time.perf_counter()
        self.check_identity()
        reorg = self.detect_reorg()
        head = int(self.rpc("eth_blockNumber"), 16)
        target = head - self.confirmations
        start = get_meta(self.db, "synced_block", -1) + 1
        first, events, problems, retries = start, 0, [], 0
        while start <= target:
            end = min(start + self.sizer.size - 1, target)
            try:
                logs = self._logs(start, end)
            except RangeTooLarge as e:  # rate limits never get here: the endpoint retries them
                if end == start:
                    raise
                self.sizer.refused(end - start + 1, e.limit)
                continue
            self.sizer.served(end - start + 1, len(logs))
            batch = _Batch({t: [] for t in (*_INSERTS, "publications")}, {}, [])
            n = _decode(logs, batch, self.registry)
            try:
                self._verify_range(start, end, batch)
            except _ReorgDuringRange:
                retries += 1
                if retries > 3:
                    raise ChainError(
                        f"the chain keeps reorganising around block {start}: sync again later, or use --confirmations"
                    ) from None
                if self.detect_reorg() is not None:
                    reorg = start
                start = get_meta(self.db, "synced_block", -1) + 1
                continue
            self._commit_range(end, batch)
            events += n
            problems += [f"block {b} tx {tx} log {li}: {why}" for b, tx, li, why in batch.problems]
            if self.progress:
                self.progress(end - first + 1, target - first + 1)
            start = end + 1
        n_manifests, n_assets = self.import_manifests(manifests)
        return SyncResult(first, target, events, reorg, n_manifests, n_assets, time.perf_counter() - t0, problems)

    # ------------------------------------------------------------ check

    def _owner_of(self, twin_id: int) -> str:
        row = self.db.execute("SELECT owner FROM twins WHERE twin_id = ?", [twin_id]).fetchone()
        return row[0] if row else ""

    def check(self) -> list[str]:
        """Re-verify an existing index against the registry's state at the index's last block:
        the event counter, the twin and license counts, every license's uses, end and revocation,
        every twin's withdrawal and every attestation. Returns the mismatches (empty = consistent)."""
        from eth_abi import decode, encode
        from eth_hash.auto import keccak

        synced = get_meta(self.db, "synced_block", -1)
        if synced < 0:
            return ["the index has not synced any block yet"]
        at = hex(synced)
        out = []

        def call(sig: str, types: list[str], args: list, returns: list[str]) -> tuple:
            return sig, types, args, returns

        def run(calls: list) -> list:
            data = [
                ("eth_call", [{"to": self.registry, "data": "0x" + (keccak(sig.encode())[:4] + encode(types, args)).hex()}, at])
                for sig, types, args, _ in calls
            ]
            results = []
            for i in range(0, len(data), 200):
                results += self.rpc_batch(data[i : i + 200])
            return [decode(c[3], bytes.fromhex(r[2:])) for c, r in zip(calls, results)]

        twins_n, lic_n, events = run([call("counts()", [], [], ["uint256", "uint256", "uint256"])])[0]
        seen = get_meta(self.db, "events_seen", 0)
        if events != seen:
            out.append(f"the registry emitted {events} events up to block {synced}; the index saw {seen}")
        db_twins = self.db.execute("SELECT count(*), coalesce(max(twin_id), 0) FROM twins").fetchone()
        db_lics = self.db.execute("SELECT count(*), coalesce(max(license_id), 0) FROM licenses").fetchone()
        if not get_meta(self.db, "partial", False):
            if db_twins[0] != twins_n:
                out.append(f"the registry has {twins_n} twins; the index {db_twins[0]}")
            if db_lics[0] != lic_n:
                out.append(f"the registry has {lic_n} licenses; the index {db_lics[0]}")
        lic_rows = self.db.execute(
            """SELECT l.license_id, s.ends_at, s.revoked, (SELECT count(*) FROM publications p
               WHERE p.license_id = l.license_id), l.licensee, l.twin_id, l.channels, l.transforms, l.max_uses,
               l.valid_from, l.fee_per_use, l.territories, l.grantor, coalesce(l.flags, 0), l.currency,
               (SELECT kind FROM license_suspensions x WHERE x.license_id = l.license_id
                ORDER BY block DESC, log_index DESC LIMIT 1)
               FROM licenses l JOIN license_status s USING (license_id) ORDER BY l.license_id"""
        ).fetchall()
        lic_type = "(address,uint32,uint8,uint8,uint32,uint8,uint8,uint40,uint40,uint32,uint80,uint56,bool)"
        got = run([call("getLicense(uint256)", ["uint256"], [r[0]], [lic_type]) for r in lic_rows])
        tokens = run([call("currencyOf(uint256)", ["uint256"], [r[0]], ["address"]) for r in lic_rows])
        grantors = run([call("grantorOf(uint256)", ["uint256"], [r[0]], ["address"]) for r in lic_rows])
        for row, (chain_l,), (grantor,), (token,) in zip(lic_rows, got, grantors, tokens):
            lid, ends, revoked, pubs = row[:4]
            mine = (row[4].lower(), row[5], row[6], row[7], row[8], row[9], int(row[10]), row[11])
            theirs = (chain_l[0].lower(), chain_l[1], chain_l[2], chain_l[3], chain_l[4], chain_l[7], chain_l[10], chain_l[11])
            if mine != theirs or (chain_l[5] & 0x0B) != (row[13] & 0x0B):
                out.append(f"license {lid}: its terms on chain differ from the index's")
            if (row[14] or "0x" + "00" * 20).lower() != str(token).lower():
                out.append(f"license {lid}: fee token {token} on chain, {row[14]} in the index")
            if bool(chain_l[5] & 4) != (row[15] == "suspended"):
                out.append(f"license {lid}: suspended={bool(chain_l[5] & 4)} on chain, not in the index")
            if grantor.lower() != row[12].lower() and grantor.lower() != self._owner_of(row[5]).lower():
                out.append(f"license {lid}: granted by {grantor} on chain, {row[12]} in the index")
            if chain_l[9] != pubs:
                out.append(f"license {lid}: {chain_l[9]} uses on chain, {pubs} publications in the index")
            if chain_l[8] != ends or bool(chain_l[12]) != bool(revoked):
                out.append(
                    f"license {lid}: ends {chain_l[8]} (revoked {chain_l[12]}) on chain, "
                    f"{ends} (revoked {bool(revoked)}) in the index"
                )
        twin_rows = self.db.execute(
            """SELECT t.twin_id, (SELECT min(effective_at) FROM twin_withdrawals w WHERE w.twin_id = t.twin_id),
               t.owner FROM twins t ORDER BY t.twin_id"""
        ).fetchall()
        got = run([call("getTwin(uint256)", ["uint256"], [r[0]], ["(address,uint40)"]) for r in twin_rows])
        for (tid, withdrawn, owner), (chain_t,) in zip(twin_rows, got):
            if chain_t[0].lower() != owner.lower():
                out.append(f"twin {tid}: owned by {chain_t[0]} on chain, {owner} in the index")
            if chain_t[1] != (withdrawn or 0):
                out.append(f"twin {tid}: withdrawn at {chain_t[1]} on chain, {withdrawn or 0} in the index")
        att_rows = self.db.execute(
            """SELECT twin_id, attester, kind FROM attestations a WHERE rowid = (SELECT max(rowid) FROM attestations b
               WHERE b.twin_id = a.twin_id AND b.attester = a.attester)"""
        ).fetchall()
        got = run([call("attestedAt(uint256,address)", ["uint256", "address"], [r[0], r[1]], ["uint40"]) for r in att_rows])
        for (tid, who, kind), (when,) in zip(att_rows, got):
            if (when != 0) != (kind == "attested"):
                out.append(f"twin {tid}: attestation by {who} is {'live' if when else 'absent'} on chain, {kind} in the index")
        return out

    # ------------------------------------------------------------ manifests

    def import_manifests(self, extra: list[Path] = ()) -> tuple[int, int]:
        """Import the given manifests (copied into the data folder) and any new ones there."""
        from . import twins
        from .files import write_json_atomic

        for p in extra:
            m = twins.load_manifest(p)
            self._check_manifest_target(m, p)
            dest = twins.manifest_path(self.chain_id, self.registry, m["twin_id"])
            if Path(p).resolve() == dest.resolve():
                continue
            if dest.exists():
                # never replace a kept manifest with one that proves less against the anchored roots
                roots = {
                    bytes.fromhex(r[0][2:])
                    for r in self.db.execute("SELECT asset_root FROM twin_roots WHERE twin_id = ?", [m["twin_id"]]).fetchall()
                }
                if len(twins.check_manifest(m, roots)) < len(m["assets"]):
                    raise FileProblem(
                        f"manifest {p} has assets that do not prove against twin {m['twin_id']}'s "
                        "roots anchored on chain; the manifest already kept for it was left in place"
                    )
            write_json_atomic(dest, m)
        imported = assets = 0
        d = config.manifests_dir()
        prefix = f"twin-{self.chain_id}-{self.registry[2:10].lower()}-"
        for p in sorted(d.glob(prefix + "*.json")) if d.exists() else []:
            try:
                raw = p.read_bytes()
            except OSError:
                continue
            sha = hashlib.sha256(raw).hexdigest()
            if self.db.execute("SELECT 1 FROM manifests WHERE sha256 = ?", [sha]).fetchone():
                continue
            try:
                m = twins.load_manifest(p)
            except FileProblem:
                continue
            roots = {
                bytes.fromhex(r[0][2:])
                for r in self.db.execute("SELECT asset_root FROM twin_roots WHERE twin_id = ?", [m["twin_id"]]).fetchall()
            }
            if not roots:
                continue  # its twin is not (yet) on chain in what we synced
            good = twins.check_manifest(m, roots)
            with self.db.atomic():
                self.db.conn.executemany(
                    "INSERT INTO twin_assets VALUES (?, ?, ?, ?, ?, ?)",
                    [(m["twin_id"], a["name"], a["content_hash"], a["pixel_hash"], _signed64(a["phash"]), sha) for a in good],
                )
                self.db.execute("INSERT INTO manifests VALUES (?, ?, ?, ?)", [sha, m["twin_id"], p.name, len(good)])
            imported += 1
            assets += len(good)
        return imported, assets

    def _check_manifest_target(self, m: dict, p) -> None:
        if m.get("chain_id") != self.chain_id or str(m.get("registry", "")).lower() != self.registry.lower():
            raise FileProblem(
                f"manifest {p} is for registry {m.get('registry')} on chain {m.get('chain_id')}, "
                f"not {self.registry} on chain {self.chain_id}"
            )
