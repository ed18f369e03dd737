"""Whom this verifier believes: a trust list, like a certificate trust list.

A twin is a claim ("this address is the person in these photos") that anyone can make on chain.
`verify` answers `authorised` only for records under a twin whose owner is trusted: directly (a
model on the list), or through a live on-chain attestation of the twin by an attester on the list
(an agency, a union, the studio that did the capture).

The list lives in `$CONSENTRY_HOME/trust.json`: {"schema_version": 1, "entries": [{"address",
"name", "role": "model"|"attester", "added_at"}]}. It is the verifier's own file, never taken from
the chain or from anyone else's files.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from . import config
from .errors import FileProblem, UsageError
from .text import is_clean

ROLES = ("model", "attester")
MAX_NAME = 64


@dataclass(frozen=True)
class Trusted:
    address: str  # checksummed
    name: str
    role: str
    added_at: int


def path() -> Path:
    return config.home() / "trust.json"


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def load() -> list[Trusted]:
    """The trust list (empty when there is none); FileProblem when the file is not a trust list."""
    from .files import read_json

    p = path()
    if not p.exists():
        return []
    doc = read_json(p, "trust list", max_bytes=4 * 2**20)
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise FileProblem(f"{p} is not a Consentry trust list: fix or delete it")
    out = []
    for i, e in enumerate(entries):
        try:
            addr, name, role, added = e["address"], e["name"], e["role"], e.get("added_at", 0)
            if not (isinstance(addr, str) and re.fullmatch(r"0x[0-9a-fA-F]{40}", addr)):
                raise ValueError("address")
            if not (isinstance(name, str) and 0 < len(name) <= MAX_NAME and is_clean(name)) or role not in ROLES:
                raise ValueError("name or role")
            if not isinstance(added, int):
                raise ValueError("added_at")
        except (KeyError, TypeError, ValueError) as err:
            raise FileProblem(f"{p}: entries[{i}] is not a valid trust entry ({err}): fix or delete it") from None
        out.append(Trusted(addr, name, role, added))  # checksummed when added; compared in lower case
    return out


def _save(entries: list[Trusted]) -> None:
    from .files import write_json_atomic

    config.ensure_home()
    write_json_atomic(
        path(),
        {
            "schema_version": 1,
            "entries": [{"address": e.address, "name": e.name, "role": e.role, "added_at": e.added_at} for e in entries],
        },
        0o600,
    )


def add(address: str, name: str, role: str = "model") -> Trusted:
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not (0 < len(name) <= MAX_NAME and name.isprintable()):
        raise UsageError(f"a trusted name is printable text of 1 to {MAX_NAME} characters")
    entries = load()
    addr = _checksum(address)
    entries = [e for e in entries if e.address.lower() != addr.lower() or e.role != role]
    for e in entries:
        if e.name == name and e.address != addr:
            raise UsageError(f"the name {name!r} is already used for {e.address}: choose another")
    entry = Trusted(addr, name, role, int(time.time()))
    entries = entries + [entry]
    _save(entries)
    return entry


def remove(who: str) -> list[Trusted]:
    """Remove the entries whose name or address is `who`; returns them (UsageError when none)."""
    entries = load()
    gone = [e for e in entries if e.name == who or e.address.lower() == who.lower()]
    if not gone:
        import difflib

        near = difflib.get_close_matches(who, [e.name for e in entries], n=1)
        raise UsageError(f"{who!r} is not on the trust list" + (f"; did you mean {near[0]!r}?" if near else ""))
    _save([e for e in entries if e not in gone])
    return gone


@dataclass(frozen=True)
class TrustView:
    """What a verdict needs: is a twin trusted, and through whom."""

    models: dict[str, str]  # lower-case address -> name
    attesters: dict[str, str]

    @classmethod
    def from_entries(cls, entries: list[Trusted]) -> "TrustView":
        return cls(
            {e.address.lower(): e.name for e in entries if e.role == "model"},
            {e.address.lower(): e.name for e in entries if e.role == "attester"},
        )

    def name_of(self, address: str | None) -> str | None:
        if not address:
            return None
        a = address.lower()
        return self.models.get(a) or self.attesters.get(a)

    def judge(self, owner: str, attesters: list[str]) -> tuple[bool, str]:
        """(trusted, why) for a twin with this owner and these live attesters."""
        if owner.lower() in self.models:
            return True, f"model {owner} is trusted as {self.models[owner.lower()]!r}"
        vouching = [a for a in attesters if a.lower() in self.attesters]
        if vouching:
            names = ", ".join(f"{self.attesters[a.lower()]!r} ({a})" for a in vouching)
            return True, f"owner {owner} is attested by {names}"
        if attesters:
            return False, (
                f"nobody this verifier trusts vouches for owner {owner} "
                f"(attested only by {', '.join(attesters)}, not on the trust list)"
            )
        return False, f"nobody this verifier trusts vouches for owner {owner} (no trusted model, no trusted attester)"
