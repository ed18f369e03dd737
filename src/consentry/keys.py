"""Encrypted keystores: Ethereum V3 JSON files (readable by geth, cast, ethers) under
$CONSENTRY_HOME/keystore/NAME.json, mode 0600. Keys are never printed or logged."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import config
from .files import write_json_atomic
from .errors import KeystoreError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# scrypt cost: the eth-account default (n = 2**18, ~1 s) unless CONSENTRY_LIGHT_KDF is set, which,
# like geth's --lightkdf, trades strength for speed (n = 2**12) for tests and throwaway dev keys.
LIGHT_SCRYPT_N = 2**12
# a private key is an integer in [1, n) where n is the order of secp256k1's group (not its field prime p)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def light_kdf() -> bool:
    """Whether CONSENTRY_LIGHT_KDF asks for cheap keystores: only 1, true or yes (any case)."""
    return os.environ.get("CONSENTRY_LIGHT_KDF", "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class AccountInfo:
    name: str
    address: str
    path: Path


def _path(name: str) -> Path:
    return config.keystore_dir() / f"{name}.json"


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise KeystoreError(f"bad account name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    return name


def list_accounts() -> list[AccountInfo]:
    d = config.keystore_dir()
    out = []
    for p in sorted(d.glob("*.json")) if d.exists() else []:
        try:
            address = json.loads(p.read_text())["address"]
        except (OSError, ValueError, KeyError):
            continue
        out.append(AccountInfo(p.stem, _checksum("0x" + address.removeprefix("0x")), p))
    return out


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def find(name_or_address: str) -> AccountInfo:
    """An account by keystore name or by address."""
    s = name_or_address.strip()
    accounts = list_accounts()
    for a in accounts:
        if a.name == s or a.address.lower() == s.lower():
            return a
    known = ", ".join(a.name for a in accounts) or "none yet"
    raise KeystoreError(f"unknown account {s!r} (known: {known}); create one with `consentry account create NAME`")


def _encrypt_and_write(name: str, private_key: bytes, password: str) -> AccountInfo:
    from eth_account import Account

    check_name(name)
    path = _path(name)
    if path.exists():
        raise KeystoreError(f"account {name!r} already exists ({path})")
    acct = Account.from_key(private_key)
    if any(a.address == acct.address for a in list_accounts()):
        raise KeystoreError(f"the key of {acct.address} is already stored under another name")
    iterations = LIGHT_SCRYPT_N if light_kdf() else None
    keystore = Account.encrypt(private_key, password, kdf="scrypt", iterations=iterations)
    config.keystore_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    write_json_atomic(path, keystore, mode=0o600, indent=None)
    return AccountInfo(name, acct.address, path)


def create(name: str, password: str) -> AccountInfo:
    import secrets

    while not 0 < int.from_bytes(key := secrets.token_bytes(32), "big") < SECP256K1_N:
        pass  # probability ~2**-128: a key outside the group's order is drawn again
    return _encrypt_and_write(name, key, password)


def import_key(name: str, private_key_hex: str, password: str) -> AccountInfo:
    hexkey = private_key_hex.strip().removeprefix("0x")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", hexkey):
        raise KeystoreError("that is not a private key: expected 64 hex digits (with or without 0x)")
    key = bytes.fromhex(hexkey)
    if not 0 < int.from_bytes(key, "big") < SECP256K1_N:
        raise KeystoreError("that private key is out of range: it must be between 1 and the secp256k1 group order - 1")
    return _encrypt_and_write(name, key, password)


def is_light(info: AccountInfo) -> bool:
    """Whether a keystore was made with the light scrypt cost (CONSENTRY_LIGHT_KDF): fine for tests, weak for value."""
    try:
        crypto = json.loads(info.path.read_text()).get("crypto", {})
        return int(crypto.get("kdfparams", {}).get("n", 2**18)) < 2**18
    except (OSError, ValueError, TypeError, AttributeError):
        return False


def unlock(info: AccountInfo, password: str):
    """Decrypt a keystore into a signing account (eth_account LocalAccount)."""
    from eth_account import Account

    try:
        keystore = json.loads(info.path.read_text())
    except (OSError, ValueError):
        raise KeystoreError(f"the keystore {info.path} is unreadable") from None
    try:
        key = Account.decrypt(keystore, password)
    except ValueError:
        raise KeystoreError(f"wrong password for account {info.name!r}") from None
    return Account.from_key(key)
