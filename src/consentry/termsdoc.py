"""The terms document: what a license's on-chain `termsHash` commits to.

The laws on digital replicas ask for a written consent that states the scope, the purpose (a
reasonably specific description of the intended uses), the rate of pay and the duration, whether
the replica may train AI models and whether published material may stay up after the license ends.
The registry stores the machine-checkable part; this document holds all of it, in words and fields,
and its keccak256 is the license's terms hash, so neither side can later claim other terms.

Format (JSON, UTF-8), hashed in canonical form: keys sorted, separators "," and ":", no whitespace,
non-ASCII text as UTF-8 (not escaped). Integers that may exceed 2^53 (fees, nonces) are decimal strings.

    {
      "kind": "consentry-terms", "schema_version": 1,
      "purpose": "Spring 2027 e-commerce campaign for the Lumière dress line",
      "twin_id": 1, "licensee": "0x…",
      "scope": {"channels": ["social"], "territories": ["FR"], "transforms": ["outfit"], "max_uses": 100},
      "rate": {"fee_per_use": "2500000", "currency": "0x…" or "native", "symbol": "USDC", "decimals": 6},
      "duration": {"valid_from": 1767225600, "valid_until": 1774915200},
      "training": "not-allowed" | "allowed",
      "after_end": "remain" | "remove",
      "disclosure": "Every published image must be disclosed as AI-generated and recorded in the registry.",
      "additional_terms": "…"          (optional: the parties' own text)
    }

`check(doc, terms)` refuses a document whose fields say other than the on-chain terms (a document
that says "social" over a license for print, say), even when the model signed its hash.
"""

from __future__ import annotations

import json
from typing import Any

from . import vocab
from .errors import FileProblem, UsageError
from .text import safe

KIND = "consentry-terms"
SCHEMA_VERSION = 1
DISCLOSURE = "Every published image must be disclosed as AI-generated and recorded in the registry."
MAX_PURPOSE = 2_000
MAX_ADDITIONAL = 1_000_000
TRAINING = ("not-allowed", "allowed")
AFTER_END = ("remain", "remove")
NATIVE = "native"


def canonical(doc: dict) -> bytes:
    """The bytes the terms hash is taken over."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def terms_hash(doc: dict) -> bytes:
    from eth_hash.auto import keccak

    return keccak(canonical(doc))


def check_purpose(purpose: str | None) -> str:
    """The intended uses in words: required, one paragraph of printable text."""
    from .schema import is_text

    text = (purpose or "").strip()
    if len(text) < 10:
        raise UsageError(
            "--purpose is required (at least 10 characters): describe the intended uses in words, e.g. "
            '--purpose "Spring 2027 e-commerce product pages for the Lumière dress line" (digital-replica laws need it)'
        )
    if not is_text(text, MAX_PURPOSE):
        raise UsageError(f"--purpose must be one line of printable text of at most {MAX_PURPOSE} characters")
    return text


def check_additional(text: str, source: str) -> str:
    """Additional terms in words: text that every reader accepts (lines of printable text, tabs), or UsageError."""
    from .schema import is_text

    if not is_text(text, MAX_ADDITIONAL, multiline=True):
        raise UsageError(
            f"{safe(str(source))}: additional terms must be UTF-8 text of printable lines (no control characters "
            f"such as form feeds), at most {MAX_ADDITIONAL:,} characters"
        )
    return text


def build(terms: dict, *, purpose: str, symbol: str = "ETH", decimals: int = 18, additional_terms: str | None = None) -> dict:
    """The document for on-chain `terms` (the Terms struct as a dict, without termsHash)."""
    currency = terms["currency"]
    doc: dict[str, Any] = {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "purpose": check_purpose(purpose),
        "twin_id": terms["twinId"],
        "licensee": terms["licensee"],
        "scope": {
            "channels": vocab.channel_names(terms["channels"]),
            "territories": vocab.unpack_territories(terms["territories"]),
            "transforms": vocab.transform_names(terms["transforms"]),
            "max_uses": terms["maxUses"],
        },
        "rate": {
            "fee_per_use": str(terms["feePerUse"]),
            "currency": NATIVE if int(currency, 16) == 0 else currency,
            "symbol": symbol,
            "decimals": decimals,
        },
        "duration": {"valid_from": terms["validFrom"], "valid_until": terms["validUntil"]},
        "training": TRAINING[bool(terms["trainingAllowed"])],
        "after_end": AFTER_END[bool(terms["removeAfterEnd"])],
        "disclosure": DISCLOSURE,
    }
    if additional_terms:
        doc["additional_terms"] = additional_terms
    return doc


def validate(obj: Any, source: str) -> dict:
    """A terms document from a file someone sent: known fields, bounded, or FileProblem naming the field."""
    from . import schema

    spec = schema.obj(
        {
            "kind": schema.const(KIND),
            "schema_version": schema.const(SCHEMA_VERSION),
            "purpose": schema.text(MAX_PURPOSE, min_len=10),
            "twin_id": schema.uint(32, low=1),
            "licensee": schema.address,
            "scope": schema.obj(
                {
                    "channels": schema.list_of(schema.text(32), 8, min_items=1),
                    "territories": schema.list_of(schema.text(2), 5, min_items=1),
                    "transforms": schema.list_of(schema.text(32), 8),
                    "max_uses": schema.uint(32),
                }
            ),
            "rate": schema.obj(
                {
                    "fee_per_use": schema.decimal_string(80),
                    "currency": schema.one_of(schema.const(NATIVE), schema.address),
                    "symbol": schema.text(32, min_len=1),
                    "decimals": schema.uint(8),
                }
            ),
            "duration": schema.obj({"valid_from": schema.uint(40), "valid_until": schema.uint(40)}),
            "training": schema.choice(TRAINING),
            "after_end": schema.choice(AFTER_END),
            "disclosure": schema.text(1_000),
        },
        optional={"additional_terms": schema.text(MAX_ADDITIONAL, multiline=True)},
    )
    schema.check(spec, obj, source, exact=True)
    return obj  # hashed as written: normalising (checksumming an address) would change its hash


def check(doc: dict, terms: dict, signed_hash: bytes) -> None:
    """The document hashes to `signed_hash` and says what the on-chain `terms` say, field by field."""
    if terms_hash(doc) != signed_hash:
        raise FileProblem(
            "the terms document is not what was signed (its keccak256 differs from the signed terms hash): "
            "it may promise what the license does not; refuse it",
            code="offer_terms_mismatch",
        )
    currency = terms["currency"]
    expected = {
        "twin_id": terms["twinId"],
        "licensee": terms["licensee"].lower(),
        "channels": vocab.channel_names(terms["channels"]),
        "territories": vocab.unpack_territories(terms["territories"]),
        "transforms": vocab.transform_names(terms["transforms"]),
        "max_uses": terms["maxUses"],
        "fee_per_use": str(terms["feePerUse"]),
        "currency": NATIVE if int(currency, 16) == 0 else currency.lower(),
        "valid_from": terms["validFrom"],
        "valid_until": terms["validUntil"],
        "training": TRAINING[bool(terms["trainingAllowed"])],
        "after_end": AFTER_END[bool(terms["removeAfterEnd"])],
    }
    said = {
        "twin_id": doc["twin_id"],
        "licensee": doc["licensee"].lower(),
        **{k: doc["scope"][k] for k in ("channels", "territories", "transforms", "max_uses")},
        "fee_per_use": doc["rate"]["fee_per_use"],
        "currency": doc["rate"]["currency"].lower() if doc["rate"]["currency"] != NATIVE else NATIVE,
        **doc["duration"],
        "training": doc["training"],
        "after_end": doc["after_end"],
    }
    if said["currency"] == NATIVE:  # the chain's coin in wei: a document may not relabel it
        said["native_unit"] = (doc["rate"]["symbol"], doc["rate"]["decimals"])
        expected["native_unit"] = ("ETH", 18)
    labels = {"native_unit": "native coin's symbol and decimals"}
    for key, value in expected.items():
        if said.get(key) != value:
            raise FileProblem(
                f"the terms document says {labels.get(key, key.replace('_', ' '))} {safe(repr(said.get(key)))[:120]} but "
                f"the signed terms say {value!r}: refuse it and ask for a consistent offer",
                code="terms_inconsistent",
            )


def granted_terms(g: dict) -> dict:
    """The Terms a license was granted with, from its LicenseGranted event's fields (or the index's row of them)."""
    currency = g.get("currency") or "0x" + "00" * 20
    flags = int(g.get("flags") or 0)
    h = g["termsHash"]
    return {
        "twinId": int(g["twinId"]),
        "licensee": g["licensee"],
        "channels": int(g["channels"]),
        "transforms": int(g["transforms"]),
        "territories": int(g["territories"]),
        "validFrom": int(g["validFrom"]),
        "validUntil": int(g["validUntil"]),
        "maxUses": int(g["maxUses"]),
        "feePerUse": int(g["feePerUse"]),
        "currency": currency,
        "trainingAllowed": bool(flags & 1),
        "removeAfterEnd": bool(flags & 2),
        "termsHash": h if isinstance(h, str) else "0x" + bytes(h).hex(),
    }


def consistent(doc: dict, terms: dict) -> bool:
    """Whether `doc` hashes to the terms' hash and says what they say (see `check`)."""
    h = terms["termsHash"]
    try:
        check(doc, terms, h if isinstance(h, bytes) else bytes.fromhex(str(h).removeprefix("0x")))
        return True
    except FileProblem:
        return False


def words(doc: dict) -> list[str]:
    """The document as a person reads it."""

    rate = doc["rate"]
    fee = vocab.format_units(int(rate["fee_per_use"]), rate["decimals"], rate["symbol"])
    scope = doc["scope"]
    lines = [
        f"purpose       {safe(doc['purpose'])}",
        f"scope         {', '.join(scope['channels'])} in {', '.join(scope['territories'])}; "
        f"AI changes: {', '.join(scope['transforms']) or 'none'}; uses: {scope['max_uses'] or 'unlimited'}",
        f"rate          {fee} per use" + ("" if rate["currency"] == NATIVE else f" (token {rate['currency']})"),
        f"duration      {vocab.format_time(doc['duration']['valid_from'])} → {vocab.format_time(doc['duration']['valid_until'])}",
        f"AI training   {doc['training']}",
        f"after the end published images {'may remain' if doc['after_end'] == 'remain' else 'must be removed'}",
    ]
    if doc.get("additional_terms"):
        lines.append("additional    " + safe(doc["additional_terms"][:500]).replace("\n", " "))
    return lines


def _store():
    from . import config

    return config.home() / "terms"


def save(doc: dict) -> None:
    """Keep a document this user made, accepted or granted, so `license show` can print it later."""
    from .files import write_bytes_atomic

    d = _store()
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_bytes_atomic(d / f"{terms_hash(doc).hex()}.json", canonical(doc))


def kept_hashes() -> set[str]:
    """The hex terms hashes of the documents this user keeps."""
    try:
        return {p.stem for p in _store().glob("*.json")}
    except OSError:
        return set()


def load(hash_: bytes) -> dict | None:
    """The document with this terms hash, if this user keeps it (checked against the hash), else None."""
    p = _store() / f"{hash_.hex()}.json"
    try:
        raw = p.read_bytes()
    except OSError:
        return None
    from eth_hash.auto import keccak

    if keccak(raw) != hash_:
        return None
    try:
        return validate(json.loads(raw), str(p))
    except (ValueError, FileProblem):
        return None
