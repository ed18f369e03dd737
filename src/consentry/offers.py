"""EIP-712 signed documents of a model: license offers (the brand submits them; no gas for the model)
and consents to alterations (the agent submits them with its grant).

An offer file is JSON (`docs/OFFERS.md` documents it field by field):

    {"schema_version": 2, "kind": "consentry-offer", "chain_id": 31337, "registry": "0x…",
     "terms": {"twinId": "1", "licensee": "0x…", "channels": "1", …, "currency": "0x000…",
               "trainingAllowed": false, "removeAfterEnd": false, "termsHash": "0x…"},
     "terms_document": {…}, "nonce": "…", "deadline": "…", "signature": "0x…", "signer": "0x…"}

Every integer except chain_id is a decimal string (JavaScript loses integers above 2^53). Nonces are
random 256-bit numbers: no local counter, so two machines signing for one model never collide.
A consent file (`kind` "consentry-consent") carries the same terms and document plus the signed
`consent` {agent, nonce, deadline}: the model signs AlterationConsent(agent, Terms terms, nonce, deadline) over
the very terms the agent grants, so they cannot be stretched under the same terms document."""

from __future__ import annotations

import secrets
from pathlib import Path

from . import schema
from .files import read_json

DOMAIN_VERSION = "2"
OFFER_FIELDS = [
    ("twinId", "uint256"),
    ("licensee", "address"),
    ("channels", "uint8"),
    ("transforms", "uint8"),
    ("territories", "uint56"),
    ("validFrom", "uint40"),
    ("validUntil", "uint40"),
    ("maxUses", "uint32"),
    ("feePerUse", "uint80"),
    ("currency", "address"),
    ("trainingAllowed", "bool"),
    ("removeAfterEnd", "bool"),
    ("termsHash", "bytes32"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
]
TERMS_KEYS = [name for name, _ in OFFER_FIELDS[:13]]
CONSENT_FIELDS = [("agent", "address"), ("terms", "Terms"), ("nonce", "uint256"), ("deadline", "uint256")]
CONSENT_KEYS = ["agent", "nonce", "deadline"]  # the AlterationConsent struct; the terms travel beside it
_INT_TYPES = ("uint", "int")


def random_nonce() -> int:
    return secrets.randbits(256)


def _domain(chain_id: int, registry: str) -> dict:
    return {"name": "Consentry", "version": DOMAIN_VERSION, "chainId": chain_id, "verifyingContract": registry}


def _with_hash_bytes(values: dict) -> dict:
    msg = dict(values)
    if isinstance(msg.get("termsHash"), str):
        msg["termsHash"] = bytes.fromhex(msg["termsHash"].removeprefix("0x"))
    return msg


def _typed(primary: str, fields: list, message: dict, chain_id: int, registry: str, extra_types: dict | None = None) -> dict:
    msg = _with_hash_bytes(message)
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: [{"name": n, "type": t} for n, t in fields],
            **(extra_types or {}),
        },
        "primaryType": primary,
        "domain": _domain(chain_id, registry),
        "message": msg,
    }


def typed_data(terms: dict, nonce: int, deadline: int, chain_id: int, registry: str) -> dict:
    message = {**{k: terms[k] for k in TERMS_KEYS}, "nonce": nonce, "deadline": deadline}
    return _typed("Offer", OFFER_FIELDS, message, chain_id, registry)


def consent_typed_data(consent: dict, terms: dict, chain_id: int, registry: str) -> dict:
    """AlterationConsent(address agent,Terms terms,uint256 nonce,uint256 deadline), Terms as in an offer."""
    message = {"agent": consent["agent"], "terms": _with_hash_bytes({k: terms[k] for k in TERMS_KEYS})}
    message |= {"nonce": consent["nonce"], "deadline": consent["deadline"]}
    terms_type = {"Terms": [{"name": n, "type": t} for n, t in OFFER_FIELDS[:13]]}
    return _typed("AlterationConsent", CONSENT_FIELDS, message, chain_id, registry, terms_type)


def _sign(account, typed: dict) -> bytes:
    from eth_account.messages import encode_typed_data

    return bytes(account.sign_message(encode_typed_data(full_message=typed)).signature)


def _recover(typed: dict, signature: str) -> str:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    return Account.recover_message(encode_typed_data(full_message=typed), signature=bytes.fromhex(signature.removeprefix("0x")))


def sign(account, terms: dict, nonce: int, deadline: int, chain_id: int, registry: str) -> bytes:
    return _sign(account, typed_data(terms, nonce, deadline, chain_id, registry))


def sign_consent(account, consent: dict, terms: dict, chain_id: int, registry: str) -> bytes:
    return _sign(account, consent_typed_data(consent, terms, chain_id, registry))


def recover(offer: dict) -> str:
    """Who signed a loaded offer (or consent) file."""
    if offer["kind"] == schema.CONSENT_KIND:
        t = consent_typed_data(offer["consent"], offer["terms"], offer["chain_id"], offer["registry"])
        return _recover(t, offer["signature"])
    t = typed_data(offer["terms"], offer["nonce"], offer["deadline"], offer["chain_id"], offer["registry"])
    return _recover(t, offer["signature"])


def terms_tuple(terms: dict) -> tuple:
    """The Terms struct as the ABI wants it."""
    t = dict(terms)
    if isinstance(t["termsHash"], str):
        t["termsHash"] = bytes.fromhex(t["termsHash"].removeprefix("0x"))
    return tuple(t[k] for k in TERMS_KEYS)


def consent_tuple(consent: dict) -> tuple:
    return tuple(consent[k] for k in CONSENT_KEYS)


def _as_strings(values: dict, fields: list) -> dict:
    """Integers as decimal strings, bytes as 0x-hex: the exchange format."""
    types = dict(fields)
    out = {}
    for k, v in values.items():
        if isinstance(v, bytes):
            v = "0x" + v.hex()
        elif types.get(k, "").startswith(_INT_TYPES) and not isinstance(v, bool):
            v = str(v)
        out[k] = v
    return out


def to_file_dict(
    terms: dict,
    nonce: int,
    deadline: int,
    chain_id: int,
    registry: str,
    signature: bytes,
    signer: str,
    terms_document: dict | None = None,
) -> dict:
    d = {
        "schema_version": 2,
        "kind": schema.OFFER_KIND,
        "chain_id": chain_id,
        "registry": registry,
        "terms": _as_strings({k: terms[k] for k in TERMS_KEYS}, OFFER_FIELDS),
        "nonce": str(nonce),
        "deadline": str(deadline),
        "signature": "0x" + signature.hex(),
        "signer": signer,
    }
    if terms_document is not None:
        d["terms_document"] = terms_document
    return d


def consent_file_dict(
    terms: dict, consent: dict, chain_id: int, registry: str, signature: bytes, signer: str, terms_document: dict
) -> dict:
    return {
        "schema_version": 1,
        "kind": schema.CONSENT_KIND,
        "chain_id": chain_id,
        "registry": registry,
        "consent": _as_strings({k: consent[k] for k in CONSENT_KEYS}, CONSENT_FIELDS),
        "terms": _as_strings({k: terms[k] for k in TERMS_KEYS}, OFFER_FIELDS),
        "terms_document": terms_document,
        "signature": "0x" + signature.hex(),
        "signer": signer,
    }


def load(path: str | Path) -> dict:
    """An offer file, every field checked (schema.validate_offer) and normalised (integers as int)."""
    p = Path(path)
    return schema.validate_offer(read_json(p, "offer file"), p)


def load_consent(path: str | Path) -> dict:
    """A consent file, every field checked and normalised."""
    p = Path(path)
    return schema.validate_consent(read_json(p, "consent file"), p)
