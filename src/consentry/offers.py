"""EIP-712 signed license offers: the model signs terms off-chain (no gas); the brand submits them.

An offer file is JSON: {"schema_version", "kind": "consentry-offer", "chain_id", "registry",
"terms": {...}, "nonce", "deadline", "signature", "signer"}."""

from __future__ import annotations

from pathlib import Path

from . import schema
from .files import read_json

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
    ("termsHash", "bytes32"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
]
TERMS_KEYS = [name for name, _ in OFFER_FIELDS[:10]]


def typed_data(terms: dict, nonce: int, deadline: int, chain_id: int, registry: str) -> dict:
    message = {**{k: terms[k] for k in TERMS_KEYS}, "nonce": nonce, "deadline": deadline}
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Offer": [{"name": n, "type": t} for n, t in OFFER_FIELDS],
        },
        "primaryType": "Offer",
        "domain": {"name": "Consentry", "version": "1", "chainId": chain_id, "verifyingContract": registry},
        "message": message,
    }


def sign(account, terms: dict, nonce: int, deadline: int, chain_id: int, registry: str) -> bytes:
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message=typed_data(terms, nonce, deadline, chain_id, registry))
    return bytes(account.sign_message(signable).signature)


def recover(offer: dict) -> str:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    t = typed_data(offer["terms"], offer["nonce"], offer["deadline"], offer["chain_id"], offer["registry"])
    signature = bytes.fromhex(offer["signature"].removeprefix("0x"))
    return Account.recover_message(encode_typed_data(full_message=t), signature=signature)


def terms_tuple(terms: dict) -> tuple:
    """The Terms struct as the ABI wants it."""
    t = dict(terms)
    if isinstance(t["termsHash"], str):
        t["termsHash"] = bytes.fromhex(t["termsHash"].removeprefix("0x"))
    return tuple(t[k] for k in TERMS_KEYS)


def to_file_dict(
    terms: dict,
    nonce: int,
    deadline: int,
    chain_id: int,
    registry: str,
    signature: bytes,
    signer: str,
    terms_text: str | None = None,
) -> dict:
    t = dict(terms)
    if isinstance(t["termsHash"], bytes):
        t["termsHash"] = "0x" + t["termsHash"].hex()
    d = {
        "schema_version": 1,
        "kind": "consentry-offer",
        "chain_id": chain_id,
        "registry": registry,
        "terms": t,
        "nonce": nonce,
        "deadline": deadline,
        "signature": "0x" + signature.hex(),
        "signer": signer,
    }
    if terms_text is not None:
        d["terms_text"] = terms_text
    return d


def load(path: str | Path) -> dict:
    """An offer file, every field checked (schema.validate_offer) and normalised."""
    p = Path(path)
    return schema.validate_offer(read_json(p, "offer file"), p)
