"""Checking the files people exchange (twin manifests, offer files) before anything uses them.

A file may come from anyone, so every field is checked against what `twin register` and
`license offer` write: integers in the range of their Solidity type (bool is not an integer), hex
of an exact byte length, addresses (EIP-55 checksum when mixed case), printable names of bounded
length, lists of bounded size. The result is normalised data holding only the known fields;
anything else raises `FileProblem` with one line naming the file and the field:

    ana-twin.json: assets[3].name must be printable text of at most 200 characters
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from .errors import FileProblem
from .text import is_clean, safe

MANIFEST_KIND = "consentry-twin-manifest"
OFFER_KIND = "consentry-offer"
CONSENT_KIND = "consentry-consent"
MAX_NAME = 200  # an asset's file name, a model's or agency's name
MAX_URI = 2048
MAX_NOTES = 10_000
MAX_TERMS_TEXT = 1_000_000
MAX_ASSETS = 10_000
MAX_PROOF = 32  # a Merkle tree over at most 2**32 leaves (assetCount is a uint32)

Check = Callable[[Any, str], Any]


class _Bad(Exception):
    def __init__(self, where: str, message: str):
        super().__init__(f"{where} {message}".strip())


# ---------------------------------------------------------------- field checkers


def uint(bits: int, low: int = 0) -> Check:
    high = 2**bits - 1

    def check(v, where):
        if type(v) is not int or not low <= v <= high:
            raise _Bad(where, f"must be a whole number from {low} to {high} (uint{bits})")
        return v

    return check


def uint_str(bits: int, low: int = 0) -> Check:
    """A whole number written as a decimal string (the exchange format for big integers); returns the int."""
    digits = decimal_string(bits)

    def check(v, where):
        n = int(digits(v, where))
        if n < low:
            raise _Bad(where, f"must be a whole number from {low} to {2**bits - 1} written as a string (uint{bits})")
        return n

    return check


def boolean(v, where):
    if type(v) is not bool:
        raise _Bad(where, "must be true or false")
    return v


def hex_bytes(n: int, prefix: bool = True) -> Check:
    pattern = re.compile(("0x" if prefix else "(?:0x)?") + f"[0-9a-fA-F]{{{2 * n}}}")

    def check(v, where):
        if not isinstance(v, str) or not pattern.fullmatch(v):
            raise _Bad(where, f"must be {'0x followed by ' if prefix else ''}{2 * n} hex digits ({n} bytes)")
        return ("0x" if prefix else "") + v.removeprefix("0x").lower()

    return check


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def is_address(v: str) -> bool:
    return bool(_ADDRESS.fullmatch(v))


def is_text(v, max_len: int, multiline: bool = False) -> bool:
    """Whether `v` is a string of at most `max_len` characters, printable (or, multiline, with LF, CR, tab)."""
    if not isinstance(v, str) or len(v) > max_len:
        return False
    return v.isprintable() or is_clean(v.replace("\n", "").replace("\r", "").replace("\t", "") if multiline else v)


def address(v, where):
    if not isinstance(v, str) or not _ADDRESS.fullmatch(v):
        raise _Bad(where, "must be an address (0x followed by 40 hex digits)")
    from eth_utils import to_checksum_address

    checksummed = to_checksum_address(v)
    if v != checksummed and v[2:] not in (v[2:].lower(), v[2:].upper()):
        raise _Bad(where, "has a bad EIP-55 checksum (a mistyped address?)")
    return checksummed


def text(max_len: int, *, min_len: int = 0, multiline: bool = False) -> Check:
    """A string; one printable line, or with `multiline` lines separated by LF, CR or tab."""
    what = ("non-empty " if min_len else "") + ("text" if multiline else "printable text")

    def check(v, where):
        if not (is_text(v, max_len, multiline) and len(v) >= min_len):
            raise _Bad(where, f"must be {what} of at most {max_len} characters")
        return v

    return check


def list_of(item: Check, max_items: int, min_items: int = 0) -> Check:
    def check(v, where):
        if not isinstance(v, list) or not min_items <= len(v) <= max_items:
            raise _Bad(where, f"must be a list of {min_items} to {max_items} entries")
        return [item(x, f"{where}[{i}]") for i, x in enumerate(v)]

    return check


def obj(required: dict[str, Check], optional: dict[str, Check] | None = None) -> Check:
    """An object with these keys; unknown keys are dropped from the result."""
    optional = optional or {}

    def check(v, where):
        if not isinstance(v, dict):
            raise _Bad(where, "must be an object")
        out = {}
        for k, c in required.items():
            if k not in v:
                raise _Bad(f"{where}.{k}".lstrip("."), "is missing")
            out[k] = c(v[k], f"{where}.{k}".lstrip("."))
        for k, c in optional.items():
            if k in v:
                out[k] = c(v[k], f"{where}.{k}".lstrip("."))
        return out

    return check


def const(value) -> Check:
    def check(v, where):
        if type(v) is not type(value) or v != value:
            raise _Bad(where, f"must be {value!r}")
        return v

    return check


def decimal_string(bits: int) -> Check:
    """A whole number in a JSON string (big integers travel as strings), within uint<bits>; returns the int."""
    high = 2**bits - 1

    def check(v, where):
        if not isinstance(v, str) or not re.fullmatch(r"0|[1-9][0-9]{0,77}", v) or int(v) > high:
            raise _Bad(where, f"must be a whole number from 0 to {high} written as a string (uint{bits})")
        return v

    return check


def choice(options: tuple[str, ...]) -> Check:
    def check(v, where):
        if not isinstance(v, str) or v not in options:
            raise _Bad(where, f"must be one of {', '.join(options)}")
        return v

    return check


def one_of(*checks: Check) -> Check:
    def check(v, where):
        for c in checks[:-1]:
            try:
                return c(v, where)
            except _Bad:
                pass
        return checks[-1](v, where)

    return check


def check(spec: Check, obj_: Any, source, exact: bool = False) -> Any:
    """`spec` applied to `obj_`, FileProblem naming `source` and the field; with `exact`, fields this
    version does not know are refused too (for hashed documents, where dropping them would change the hash)."""
    name = safe(str(source))
    try:
        out = spec(obj_, "")
    except _Bad as e:
        raise FileProblem(f"{name}: {e}") from None
    if exact:
        unknown = _unknown_keys(obj_, out, "")
        if unknown:
            shown = safe(unknown)[:80] + ("…" if len(unknown) > 80 else "")
            raise FileProblem(f"{name}: {shown} is not a field this version of Consentry knows: upgrade or ask for a new file")
    return out


def _unknown_keys(given, kept, where: str) -> str | None:
    if isinstance(given, dict) and isinstance(kept, dict):
        for k, v in given.items():
            if k not in kept:
                return f"{where}.{k}".lstrip(".")
            found = _unknown_keys(v, kept[k], f"{where}.{k}")
            if found:
                return found
    return None


# ---------------------------------------------------------------- the file kinds

BYTES32 = hex_bytes(32)
CHAIN_ID = uint(64, low=1)

ASSET = obj(
    {
        "name": text(MAX_NAME, min_len=1),
        "content_hash": BYTES32,
        "pixel_hash": BYTES32,
        "phash": hex_bytes(8, prefix=False),
        "width": uint(32, low=1),
        "height": uint(32, low=1),
        "leaf": BYTES32,
        "proof": list_of(BYTES32, MAX_PROOF),
    },
    optional={"signature": BYTES32},
)

METADATA = obj(
    {},
    optional={
        "kind": text(64),
        "name": text(MAX_NAME),
        "agency": text(MAX_NAME),
        "notes": text(MAX_NOTES, multiline=True),
        "asset_root": BYTES32,
        "asset_count": uint(32),
        "created": uint(40),
    },
)

MANIFEST = obj(
    {
        "schema_version": const(1),
        "kind": const(MANIFEST_KIND),
        "chain_id": CHAIN_ID,
        "registry": address,
        "twin_id": uint(32, low=1),
        "owner": address,
        "asset_root": BYTES32,
        "metadata": METADATA,
        "metadata_hash": BYTES32,
        "metadata_uri": text(MAX_URI),
        "tx": BYTES32,
        "assets": list_of(ASSET, MAX_ASSETS, min_items=1),
    }
)

TERMS = obj(
    {
        "twinId": uint_str(32, low=1),
        "licensee": address,
        "channels": uint_str(8),
        "transforms": uint_str(8),
        "territories": uint_str(56),
        "validFrom": uint_str(40),
        "validUntil": uint_str(40),
        "maxUses": uint_str(32),
        "feePerUse": uint_str(80),
        "currency": address,
        "trainingAllowed": boolean,
        "removeAfterEnd": boolean,
        "termsHash": BYTES32,
    }
)


def _terms_document(v, where):
    from . import termsdoc

    try:
        return termsdoc.validate(v, where)
    except FileProblem as e:
        raise _Bad("", str(e)) from None


OFFER = obj(
    {
        "schema_version": const(2),
        "kind": const(OFFER_KIND),
        "chain_id": CHAIN_ID,
        "registry": address,
        "terms": TERMS,
        "terms_document": _terms_document,
        "nonce": uint_str(256),
        "deadline": uint_str(256),
        "signature": hex_bytes(65),
    },
    optional={"signer": address},
)

CONSENT = obj(
    {
        "schema_version": const(1),
        "kind": const(CONSENT_KIND),
        "chain_id": CHAIN_ID,
        "registry": address,
        "consent": obj({"agent": address, "nonce": uint_str(256), "deadline": uint_str(256)}),
        "terms": TERMS,
        "terms_document": _terms_document,
        "signature": hex_bytes(65),
    },
    optional={"signer": address},
)


def _validate(spec: Check, kind: str, made_by: str, obj_: Any, source, version: int = 1) -> dict:
    name = safe(str(source))
    if not isinstance(obj_, dict) or obj_.get("kind") != kind:
        raise FileProblem(f"{name} is not a Consentry {made_by}")
    if obj_.get("schema_version") != version or type(obj_.get("schema_version")) is not int:
        raise FileProblem(
            f"{name}: schema_version {safe(repr(obj_.get('schema_version')))[:40]} is not one this "
            f"version of Consentry reads ({version}): upgrade Consentry or ask for a new file"
        )
    try:
        return spec(obj_, "")
    except _Bad as e:
        raise FileProblem(f"{name}: {e}") from None


def validate_manifest(obj_: Any, source: str | Path) -> dict:
    """The manifest, checked and normalised, or FileProblem naming the file and the field."""
    return _validate(MANIFEST, MANIFEST_KIND, "twin manifest (made by `consentry twin register`)", obj_, source)


def validate_offer(obj_: Any, source: str | Path) -> dict:
    """The offer, checked and normalised, or FileProblem naming the file and the field."""
    return _validate(OFFER, OFFER_KIND, "offer file (made by `consentry license offer`)", obj_, source, version=2)


def validate_consent(obj_: Any, source: str | Path) -> dict:
    """A model's consent to alterations, checked and normalised, or FileProblem naming the file and the field."""
    return _validate(CONSENT, CONSENT_KIND, "consent file (made by `consentry license consent`)", obj_, source)
