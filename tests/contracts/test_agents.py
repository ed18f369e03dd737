import ape
import pytest

from conftest import DAY, FEE, make_terms
from consentry import vocab


@pytest.fixture
def caps(chain):
    return (chain.pending_timestamp + 90 * DAY, 60 * DAY, vocab.channel_mask(["social", "ecommerce"]),
            vocab.transform_mask(["outfit", "background"]), FEE)


@pytest.fixture
def mandated(registry, model, agent, twin, caps):
    registry.appointAgent(twin, agent, caps, sender=model)
    return agent


def test_the_model_appoints_an_agent_with_caps(registry, model, agent, twin, caps):
    tx = registry.appointAgent(twin, agent, caps, sender=model)
    expiry, max_duration, channels, transforms, min_fee = caps
    assert tx.events == [registry.AgentAppointed(twinId=twin, agent=agent, expiry=expiry, maxDuration=max_duration,
                                                 channels=channels, transforms=transforms, minFee=min_fee)]
    assert tuple(registry.getMandate(twin, agent)) == caps


def test_only_the_owner_appoints_and_revokes_agents(registry, other, agent, twin, caps):
    with ape.reverts(registry.NotTwinOwner, twinId=twin, account=other.address):
        registry.appointAgent(twin, agent, caps, sender=other)
    with ape.reverts(registry.NotTwinOwner, twinId=twin, account=other.address):
        registry.revokeAgent(twin, agent, sender=other)


def test_a_mandate_must_expire_in_the_future_and_name_channels(registry, model, agent, twin, caps, chain):
    past = chain.pending_timestamp - 1
    with ape.reverts(registry.MandateExpiryInPast, expiry=past):
        registry.appointAgent(twin, agent, (past,) + caps[1:], sender=model)
    with ape.reverts(registry.InvalidChannels, channels=0):
        registry.appointAgent(twin, agent, caps[:2] + (0,) + caps[3:], sender=model)
    with ape.reverts(registry.InvalidLicensee):
        registry.appointAgent(twin, "0x" + "00" * 20, caps, sender=model)


def test_an_agent_grants_within_its_mandate(registry, mandated, brand, twin, chain):
    terms = make_terms(twin, brand, chain.pending_timestamp, days=60)
    tx = registry.grantLicense(terms, sender=mandated)
    assert tx.events[0].grantor == mandated.address
    assert registry.getLicense(1).licensee == brand.address


@pytest.mark.parametrize("override, cap", [
    (dict(days=61), "duration"),
    (dict(channels=("social", "print")), "channels"),
    (dict(transforms=("outfit", "face")), "transforms"),
    (dict(fee=FEE - 1), "fee"),
])
def test_an_agent_cannot_exceed_its_mandate(registry, mandated, brand, twin, chain, override, cap):
    terms = make_terms(twin, brand, chain.pending_timestamp, **override)
    with ape.reverts(registry.MandateExceeded, twinId=twin, agent=mandated.address, cap=cap):
        registry.grantLicense(terms, sender=mandated)


def test_an_expired_mandate_grants_nothing(registry, mandated, brand, twin, chain, caps):
    chain.pending_timestamp = caps[0] + 1
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=mandated.address):
        registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=mandated)


def test_a_revoked_agent_can_neither_grant_nor_revoke(registry, model, mandated, brand, twin, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=mandated)
    tx = registry.revokeAgent(twin, mandated, sender=model)
    assert tx.events == [registry.AgentRevoked(twinId=twin, agent=mandated)]
    assert registry.getMandate(twin, mandated).expiry == 0
    with ape.reverts(registry.NotAuthorisedForTwin):
        registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=mandated)
    with ape.reverts(registry.NotAuthorisedForTwin):
        registry.revokeLicense(1, 0, sender=mandated)


def test_a_mandated_agent_revokes_a_license(registry, mandated, brand, twin, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=mandated)
    tx = registry.revokeLicense(1, 0, sender=mandated)
    assert tx.events[0].by == mandated.address
    assert registry.getLicense(1).revoked


def test_a_mandate_for_one_twin_gives_no_power_over_another(registry, model, mandated, brand, chain):
    registry.registerTwin(b"\x55" * 32, 1, b"\x00" * 32, "", sender=model)
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=2, account=mandated.address):
        registry.grantLicense(make_terms(2, brand, chain.pending_timestamp), sender=mandated)
