"""The product's one license-status rule (`consentry.status`), fed the way the index feeds it (from
events), agrees with the contract's `isLicenseValid` and `checkPublication` over random states:
windows in the past and future, revocations with notice, twin withdrawals, any time asked about.

  CONSENTRY_STATUS_EXAMPLES=500 ape test tests/contracts/test_status_rule.py   for a long run"""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DAY, code, make_terms
from consentry import status

EXAMPLES = int(os.environ.get("CONSENTRY_STATUS_EXAMPLES", "25"))
TIME_BITS = status.NOT_YET_VALID | status.EXPIRED | status.REVOKED | status.WITHDRAWN


def _times_from_events(registry, receipts, license_id, twin_id) -> status.LicenseTimes:
    """As the index derives them: LicenseGranted, LicenseRevoked and TwinWithdrawn events only."""
    granted = revoked_at = withdraw_at = None
    for r in receipts:
        for log in registry.LicenseGranted.from_receipt(r):
            if log.licenseId == license_id:
                granted = (log.validFrom, log.validUntil)
        for log in registry.LicenseRevoked.from_receipt(r):
            if log.licenseId == license_id:
                revoked_at = log.effectiveAt if revoked_at is None else min(revoked_at, log.effectiveAt)
        for log in registry.TwinWithdrawn.from_receipt(r):
            if log.twinId == twin_id:
                withdraw_at = log.effectiveAt if withdraw_at is None else min(withdraw_at, log.effectiveAt)
    ends = granted[1] if revoked_at is None else min(granted[1], revoked_at)
    return status.LicenseTimes(granted[0], ends, revoked_at is not None, withdraw_at or 0)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    start=st.integers(-20, 20),
    days=st.integers(1, 40),
    revoke=st.one_of(st.none(), st.integers(0, 50)),
    withdraw=st.one_of(st.none(), st.integers(0, 50)),
    asks=st.lists(st.integers(-30, 80), min_size=1, max_size=6),
)
def test_the_status_rule_matches_the_contract(registry, model, brand, chain, start, days, revoke, withdraw, asks):
    now = chain.pending_timestamp
    receipts = [registry.registerTwin(b"\x11" * 32, 1, b"\x22" * 32, "", sender=model)]
    twin_id = registry.counts()[0]
    valid_from = max(0, now + start * DAY)
    terms = make_terms(twin_id, brand, now, valid_from=valid_from, days=0)
    terms = (*terms[:6], max(valid_from + days * DAY, now + DAY), *terms[7:])
    receipts.append(registry.grantLicense(terms, sender=model))
    license_id = registry.counts()[1]
    t0 = chain.pending_timestamp
    if revoke is not None:
        receipts.append(registry.revokeLicense(license_id, t0 + revoke * DAY, sender=model))
    if withdraw is not None:
        receipts.append(registry.withdrawTwin(twin_id, chain.pending_timestamp + withdraw * DAY, sender=model))
    times = _times_from_events(registry, receipts, license_id, twin_id)
    for k in asks:
        at = max(0, now + k * DAY)
        ours = status.refusals(times, at)
        theirs = registry.checkPublication(license_id, brand, 0, code("FR"), 0, 1, at) & TIME_BITS
        assert ours == theirs, (at, times)
        assert status.is_valid(times, at) == registry.isLicenseValid(license_id, at)
