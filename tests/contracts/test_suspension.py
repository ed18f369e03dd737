"""Suspension: the model pauses a license (a strike, a dispute) and resumes it; unlike revocation it is undone,
and what was published before it stays authorised."""

import ape
import pytest

from conftest import DAY, FEE, SUSPENDED, code, content, imprint, make_terms
from consentry import vocab

SOCIAL, PRINT = vocab.CHANNELS.index("social"), vocab.CHANNELS.index("print")
OUTFIT = vocab.transform_mask(["outfit"])
R_CHANNEL, R_REVOKED, R_SUSPENDED = 64, 16, 1024


def publish(registry, brand, lic, n=1, start=0):
    return registry.publish(
        lic,
        SOCIAL,
        code("FR"),
        OUTFIT,
        0,
        [content(start + i) for i in range(n)],
        b"".join(imprint(start + i) for i in range(n)),
        value=FEE * n,
        sender=brand,
    )


def check(registry, brand, lic, t, channel=SOCIAL):
    return registry.checkPublication(lic, brand, channel, code("FR"), OUTFIT, 1, t)


def test_the_model_suspends_and_resumes_a_license(registry, model, brand, license_id, chain):
    tx = registry.suspendLicense(license_id, sender=model)
    assert tx.events == [registry.LicenseSuspended(licenseId=license_id, by=model)]
    assert registry.getLicense(license_id).flags == SUSPENDED
    tx = registry.resumeLicense(license_id, sender=model)
    assert tx.events == [registry.LicenseResumed(licenseId=license_id, by=model)]
    assert registry.getLicense(license_id).flags == 0
    publish(registry, brand, license_id)
    assert registry.getLicense(license_id).uses == 1


@pytest.mark.parametrize("who", ["brand", "other", "agent"])
def test_only_the_owner_suspends_and_resumes(registry, model, brand, other, agent, twin, appoint, chain, who):
    """Not the licensee, not a stranger, not even the agent that granted the license."""
    appoint(agent)
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=agent)
    account = {"brand": brand, "other": other, "agent": agent}[who]
    with ape.reverts(registry.NotTwinOwner, twinId=twin, account=account.address):
        registry.suspendLicense(1, sender=account)
    registry.suspendLicense(1, sender=model)
    with ape.reverts(registry.NotTwinOwner, twinId=twin, account=account.address):
        registry.resumeLicense(1, sender=account)
    assert registry.getLicense(1).flags & SUSPENDED


def test_a_suspension_cannot_be_repeated(registry, model, license_id):
    registry.suspendLicense(license_id, sender=model)
    events = registry.counts()[2]
    with ape.reverts(registry.LicenseIsSuspended, licenseId=license_id):
        registry.suspendLicense(license_id, sender=model)
    assert registry.counts()[2] == events


def test_only_a_suspended_license_is_resumed(registry, model, license_id):
    with ape.reverts(registry.LicenseNotSuspended, licenseId=license_id):
        registry.resumeLicense(license_id, sender=model)
    registry.suspendLicense(license_id, sender=model)
    registry.resumeLicense(license_id, sender=model)
    with ape.reverts(registry.LicenseNotSuspended, licenseId=license_id):
        registry.resumeLicense(license_id, sender=model)


def test_unknown_licenses_cannot_be_suspended_or_resumed(registry, model):
    with ape.reverts(registry.UnknownLicense, licenseId=3):
        registry.suspendLicense(3, sender=model)
    with ape.reverts(registry.UnknownLicense, licenseId=3):
        registry.resumeLicense(3, sender=model)


def test_publishing_while_suspended_is_refused(registry, model, brand, license_id):
    registry.suspendLicense(license_id, sender=model)
    with ape.reverts(registry.LicenseIsSuspended, licenseId=license_id):
        publish(registry, brand, license_id)
    assert registry.getLicense(license_id).uses == 0


def test_check_publication_and_validity_report_the_suspension(registry, model, brand, license_id, chain):
    lic = registry.getLicense(license_id)
    t = chain.pending_timestamp
    assert check(registry, brand, license_id, t) == 0 and registry.isLicenseValid(license_id, t)
    registry.suspendLicense(license_id, sender=model)
    t = chain.pending_timestamp
    assert check(registry, brand, license_id, t) == R_SUSPENDED
    assert check(registry, brand, license_id, t, channel=PRINT) == R_CHANNEL | R_SUSPENDED
    # a license suspended now is not valid now, whatever time is asked about
    for at in (t, lic.validFrom, lic.validUntil - 1):
        assert not registry.isLicenseValid(license_id, at)
    registry.resumeLicense(license_id, sender=model)
    assert check(registry, brand, license_id, chain.pending_timestamp) == 0
    assert registry.isLicenseValid(license_id, chain.pending_timestamp)


def test_an_ended_license_cannot_be_suspended(registry, model, license_id, chain):
    until = registry.getLicense(license_id).validUntil
    chain.pending_timestamp = until + 1
    with ape.reverts(registry.LicenseAlreadyEnded, licenseId=license_id, endedAt=until):
        registry.suspendLicense(license_id, sender=model)


def test_a_revoked_license_cannot_be_suspended_once_the_revocation_took_effect(registry, model, license_id, chain):
    tx = registry.revokeLicense(license_id, 0, sender=model)
    at = chain.blocks[tx.block_number].timestamp
    with ape.reverts(registry.LicenseAlreadyEnded, licenseId=license_id, endedAt=at):
        registry.suspendLicense(license_id, sender=model)


def test_publications_before_a_suspension_and_after_resumption_are_both_recorded(registry, model, brand, license_id):
    publish(registry, brand, license_id, 2)
    registry.suspendLicense(license_id, sender=model)
    with ape.reverts(registry.LicenseIsSuspended, licenseId=license_id):
        publish(registry, brand, license_id, 1, start=2)
    registry.resumeLicense(license_id, sender=model)
    tx = publish(registry, brand, license_id, 3, start=2)
    assert (tx.events[0].firstUse, tx.events[0].count) == (3, 3)
    assert registry.getLicense(license_id).uses == 5
    assert registry.feeBalance(model, "0x" + "00" * 20) == 5 * FEE


def test_a_suspended_license_can_still_be_revoked(registry, model, brand, license_id, chain):
    """Suspension is a pause, revocation the end: the model may end a paused license for good."""
    registry.suspendLicense(license_id, sender=model)
    at = chain.pending_timestamp + DAY
    tx = registry.revokeLicense(license_id, at, sender=model)
    assert tx.events == [registry.LicenseRevoked(licenseId=license_id, by=model, effectiveAt=at)]
    lic = registry.getLicense(license_id)
    assert lic.revoked and lic.validUntil == at and lic.flags & SUSPENDED
    assert check(registry, brand, license_id, at) == R_REVOKED | R_SUSPENDED
    registry.resumeLicense(license_id, sender=model)  # within the notice: the license publishes until `at`
    publish(registry, brand, license_id)
    chain.pending_timestamp = at
    with ape.reverts(registry.LicenseRevokedAt, licenseId=license_id, effectiveAt=at):
        publish(registry, brand, license_id, 1, start=1)


def test_suspending_one_license_leaves_the_others_alone(registry, model, brand, twin, license_id, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=model)
    registry.suspendLicense(license_id, sender=model)
    publish(registry, brand, 2)
    assert registry.getLicense(2).flags == 0 and registry.getLicense(2).uses == 1
