"""Twins: hash a model's capture assets, anchor their Merkle root, write the manifest others import."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from . import config, merkle, schema
from .files import read_json, write_json_atomic
from .errors import FileProblem, NotFound, UsageError
from .hashing import Fingerprint
from .text import safe

MANIFEST_KIND = schema.MANIFEST_KIND


@dataclass(frozen=True)
class Registered:
    twin_id: int
    asset_root: bytes
    tx: str
    gas_used: int
    manifest_path: Path
    duplicates: int


def metadata_document(
    name: str | None, agency: str | None, notes: str | None, asset_root: bytes, count: int
) -> tuple[dict, bytes]:
    from eth_hash.auto import keccak

    doc = {
        "kind": "consentry-twin-metadata",
        "name": name or "",
        "agency": agency or "",
        "notes": notes or "",
        "asset_root": "0x" + asset_root.hex(),
        "asset_count": count,
        "created": int(time.time()),
    }
    return doc, keccak(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())


def unique_assets(paths: list[str], fps: list[Fingerprint]) -> tuple[list[tuple[str, Fingerprint]], int]:
    """(file name, fingerprint) of each distinct asset (by file hash), in the order given, and how
    many duplicate files were dropped."""
    seen, unique = set(), []
    for p, fp in zip(paths, fps):
        if fp.content_hash not in seen:
            seen.add(fp.content_hash)
            unique.append((asset_name(p), fp))
    return unique, len(fps) - len(unique)


def asset_name(path: str) -> str:
    """The name a manifest gives an asset: its file name, control characters escaped, at most
    schema.MAX_NAME characters (what every reader of the manifest accepts)."""
    name = safe(Path(path).name) or "asset"
    return name if len(name) <= schema.MAX_NAME else name[: schema.MAX_NAME - 1] + "…"


def _check_metadata(name, agency, notes, metadata_uri) -> None:
    """Refuse, before any gas is spent, what would make the manifest unreadable to others."""
    for option, value, limit in (
        ("--name", name, schema.MAX_NAME),
        ("--agency", agency, schema.MAX_NAME),
        ("--metadata-uri", metadata_uri, schema.MAX_URI),
    ):
        if value and not schema.is_text(value, limit):
            raise UsageError(f"{option} must be printable text of at most {limit} characters")
    if notes and not schema.is_text(notes, schema.MAX_NOTES, multiline=True):
        raise UsageError(f"--notes must be text of at most {schema.MAX_NOTES} characters")


def manifest_dict(
    *, chain_id, registry, twin_id, owner, asset_root, metadata, metadata_hash, metadata_uri, tx, assets, leaves, proofs
) -> dict:
    return {
        "schema_version": 1,
        "kind": MANIFEST_KIND,
        "chain_id": chain_id,
        "registry": registry,
        "twin_id": twin_id,
        "owner": owner,
        "asset_root": "0x" + asset_root.hex(),
        "metadata": metadata,
        "metadata_hash": "0x" + metadata_hash.hex(),
        "metadata_uri": metadata_uri,
        "tx": tx,
        "assets": [
            {
                "name": n,
                "content_hash": "0x" + f.content_hash.hex(),
                "pixel_hash": "0x" + f.pixel_hash.hex(),
                "phash": f"{f.phash:016x}",
                "width": f.width,
                "height": f.height,
                "leaf": "0x" + lf.hex(),
                "proof": ["0x" + p.hex() for p in pr],
            }
            for (n, f), lf, pr in zip(assets, leaves, proofs)
        ],
    }


def manifest_path(chain_id: int, registry: str, twin_id: int) -> Path:
    """Where the data folder keeps a twin's manifest: named from checked integers and the registry
    address only, and never outside config.manifests_dir()."""
    if (
        type(chain_id) is not int
        or type(twin_id) is not int
        or not 0 < chain_id < 2**64
        or not 0 < twin_id < 2**32
        or not isinstance(registry, str)
        or not schema.is_address(registry)
    ):
        raise FileProblem(
            f"cannot name a manifest file for twin {safe(repr(twin_id))[:40]} of registry "
            f"{safe(repr(registry))[:50]} on chain {safe(repr(chain_id))[:30]}: not a twin id, "
            f"registry address and chain id"
        )
    base = config.manifests_dir()
    path = base / f"twin-{chain_id}-{registry[2:10].lower()}-{twin_id}.json"
    if path.resolve().parent != base.resolve():
        raise FileProblem(
            f"refusing to write the manifest of twin {twin_id} to {safe(path.resolve())}: outside the data folder {safe(base)}"
        )
    return path


def register(
    chain,
    account,
    paths: list[str],
    fps: list[Fingerprint],
    *,
    name=None,
    agency=None,
    notes=None,
    metadata_uri: str = "",
    manifest_out: Path | None = None,
) -> Registered:
    if not fps:
        raise UsageError("give at least one asset image")
    _check_metadata(name, agency, notes, metadata_uri)
    assets, dupes = unique_assets(paths, fps)
    leaves = [merkle.leaf(f.content_hash, f.pixel_hash, f.phash) for _, f in assets]
    root, proofs = merkle.build(leaves)
    meta, meta_hash = metadata_document(name, agency, notes, root, len(assets))
    if manifest_out is not None:
        _check_writable(manifest_out)
    receipt = chain.send(chain.registry.functions.registerTwin(root, len(assets), meta_hash, metadata_uri), account)
    ev = chain.registry.events.TwinRegistered().process_receipt(receipt)[0]["args"]
    twin_id = ev["twinId"]
    tx = "0x" + bytes(receipt["transactionHash"]).hex()
    manifest = manifest_dict(
        chain_id=chain.chain_id,
        registry=chain.address,
        twin_id=twin_id,
        owner=account.address,
        asset_root=root,
        metadata=meta,
        metadata_hash=meta_hash,
        metadata_uri=metadata_uri,
        tx=tx,
        assets=assets,
        leaves=leaves,
        proofs=proofs,
    )
    path = manifest_path(chain.chain_id, chain.address, twin_id)
    write_json_atomic(path, manifest)
    if manifest_out is not None:
        write_json_atomic(manifest_out, manifest)
    return Registered(twin_id, root, tx, receipt["gasUsed"], manifest_out or path, dupes)


def _check_writable(path: Path) -> None:
    d = path.parent if str(path.parent) else Path(".")
    if not d.is_dir():
        raise FileProblem(f"cannot write the manifest to {path}: {d} is not a folder")
    if not os.access(d, os.W_OK):
        raise FileProblem(f"cannot write the manifest to {path}: {d} is not writable")


def load_manifest(path: str | Path) -> dict:
    """A twin manifest, every field checked (schema.validate_manifest) and normalised."""
    p = Path(path)
    return schema.validate_manifest(read_json(p, "twin manifest"), p)


def check_manifest(m: dict, anchored_roots: set[bytes]) -> list[dict]:
    """Assets of a manifest whose leaves recompute and prove against a root anchored on chain."""
    good = []
    for a in m["assets"]:
        try:
            ch, ph = bytes.fromhex(a["content_hash"][2:]), bytes.fromhex(a["pixel_hash"][2:])
            phash = int(a["phash"], 16)
            lf = merkle.leaf(ch, ph, phash)
            proof = [bytes.fromhex(x[2:]) for x in a["proof"]]
        except (KeyError, ValueError, TypeError):
            continue
        if any(merkle.verify(lf, proof, r) for r in anchored_roots):
            good.append({"name": safe(a.get("name", "")), "content_hash": ch, "pixel_hash": ph, "phash": phash})
    return good


def withdraw(chain, account, twin_id: int, at: int) -> dict:
    return chain.send(chain.registry.functions.withdrawTwin(twin_id, at), account)


def get(chain, twin_id: int) -> dict:
    t = chain.call(chain.registry.functions.getTwin(twin_id))
    return {"twin_id": twin_id, "owner": t[0], "withdraw_at": t[1]}


def require_exists(chain, twin_id: int) -> dict:
    try:
        return get(chain, twin_id)
    except Exception as e:
        if getattr(e, "error_name", None) == "UnknownTwin":
            raise NotFound(f"unknown twin {twin_id}") from None
        raise


def attest(chain, account, twin_id: int, statement: str | None) -> dict:
    """`account` vouches on chain that twin `twin_id`'s owner is the person its assets depict."""
    from eth_hash.auto import keccak

    h = keccak(statement.encode()) if statement else b"\x00" * 32
    return chain.send(chain.registry.functions.attestTwin(twin_id, h), account)


def revoke_attestation(chain, account, twin_id: int) -> dict:
    return chain.send(chain.registry.functions.revokeAttestation(twin_id), account)
