"""A license's status at a time: the one place the rule lives on the Python side.

It mirrors the registry's `_timeRefusals` exactly (same bits as `checkPublication`), and is used by
`verify`, `license show` and the index; tests compare it with the contract's `isLicenseValid` and
`checkPublication` over random states. Standard library only (the contract tests import it too).

  not yet valid (4)  at < validFrom
  ended (8 or 16)    at >= validUntil (validUntil already brought forward by a revocation):
                     16 "revoked" when the license carries the revoked flag, else 8 "expired"
  withdrawn (32)     the twin is withdrawn at `at` (withdrawAt != 0 and at >= withdrawAt)
  suspended (1024)   the model suspended the license (state now: give it only for a time that is now;
                     publications made before a suspension keep their verdict)
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_YET_VALID, EXPIRED, REVOKED, WITHDRAWN, SUSPENDED = 4, 8, 16, 32, 1024


@dataclass(frozen=True)
class LicenseTimes:
    valid_from: int
    valid_until: int  # as the contract stores it: min(granted end, revocation's effective time)
    revoked: bool
    twin_withdraw_at: int  # 0 = not withdrawn
    suspended: bool = False  # suspended now


def refusals(t: LicenseTimes, at: int) -> int:
    """The contract's time refusals of a license at `at` (0 = valid)."""
    bits = 0
    if at < t.valid_from:
        bits |= NOT_YET_VALID
    if at >= t.valid_until:
        bits |= REVOKED if t.revoked else EXPIRED
    if t.twin_withdraw_at and at >= t.twin_withdraw_at:
        bits |= WITHDRAWN
    if t.suspended:
        bits |= SUSPENDED
    return bits


def is_valid(t: LicenseTimes, at: int) -> bool:
    return refusals(t, at) == 0


def describe(t: LicenseTimes, at: int, fmt=str) -> tuple[str, str | None]:
    """(status word, why it is not valid or None): valid, not yet valid, revoked, expired, twin withdrawn."""
    bits = refusals(t, at)
    if bits & WITHDRAWN:
        return "twin withdrawn", f"twin withdrawn {fmt(t.twin_withdraw_at)}"
    if bits & REVOKED:
        return "revoked", f"license revoked, effective {fmt(t.valid_until)}"
    if bits & EXPIRED:
        return "expired", f"license expired {fmt(t.valid_until)}"
    if bits & NOT_YET_VALID:
        return "not yet valid", f"license not valid before {fmt(t.valid_from)}"
    if bits & SUSPENDED:
        return "suspended", "license suspended by the model"
    if t.revoked:
        return "revocation scheduled", None
    return "valid", None
