"""Agents: a model lets an agent grant licenses for a twin within caps, and revoke what it granted."""

import ape
import pytest

from conftest import DAY, FEE, NATIVE, make_caps, make_terms, territories


@pytest.fixture
def caps(chain):
    return make_caps(chain.pending_timestamp, where=("EU", "US"), max_uses=100)


@pytest.fixture
def mandated(registry, model, agent, twin, caps):
    registry.appointAgent(twin, agent, caps, sender=model)
    return agent


def test_the_model_appoints_an_agent_with_caps(registry, model, agent, twin, caps):
    tx = registry.appointAgent(twin, agent, caps, sender=model)
    expiry, max_duration, channels, transforms, min_fee, terr, max_uses, currency, training = caps
    assert (currency, training) == (NATIVE, False)
    assert tx.events == [
        registry.AgentAppointed(
            twinId=twin,
            agent=agent,
            expiry=expiry,
            maxDuration=max_duration,
            channels=channels,
            transforms=transforms,
            minFee=min_fee,
            territories=terr,
            maxUses=max_uses,
            currency=currency,
            training=training,
        )
    ]
    assert tuple(registry.getMandate(twin, agent)) == caps


def test_only_the_owner_appoints_and_revokes_agents(registry, other, agent, twin, caps):
    with ape.reverts(registry.NotTwinOwner, twinId=twin, account=other.address):
        registry.appointAgent(twin, agent, caps, sender=other)
    with ape.reverts(registry.NotTwinOwner, twinId=twin, account=other.address):
        registry.revokeAgent(twin, agent, sender=other)


def test_revoking_an_agent_without_a_mandate_is_refused_and_emits_nothing(registry, model, agent, twin, caps):
    """A stray revocation would put a misleading AgentRevoked in the log (and in the event count)."""
    events = registry.counts()[2]
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=agent.address):
        registry.revokeAgent(twin, agent, sender=model)
    assert registry.counts()[2] == events
    registry.appointAgent(twin, agent, caps, sender=model)
    registry.revokeAgent(twin, agent, sender=model)
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=agent.address):
        registry.revokeAgent(twin, agent, sender=model)  # not twice


def test_a_mandate_must_expire_in_the_future_and_name_channels_and_territories(registry, model, agent, twin, caps, chain):
    past = chain.pending_timestamp - 1
    with ape.reverts(registry.MandateExpiryInPast, expiry=past):
        registry.appointAgent(twin, agent, (past,) + caps[1:], sender=model)
    with ape.reverts(registry.InvalidChannels, channels=0):
        registry.appointAgent(twin, agent, caps[:2] + (0,) + caps[3:], sender=model)
    for bad in (0, 700, 1 << 50):
        with ape.reverts(registry.InvalidTerritories, territories=bad):
            registry.appointAgent(twin, agent, caps[:5] + (bad,) + caps[6:], sender=model)
    with ape.reverts(registry.InvalidLicensee):
        registry.appointAgent(twin, "0x" + "00" * 20, caps, sender=model)


def test_no_agent_is_appointed_for_a_withdrawn_twin(registry, model, agent, twin, caps):
    registry.withdrawTwin(twin, 0, sender=model)
    with ape.reverts(registry.TwinWithdrawnAt):
        registry.appointAgent(twin, agent, caps, sender=model)


def test_an_agent_grants_within_its_mandate(registry, mandated, brand, twin, chain):
    terms = make_terms(twin, brand, chain.pending_timestamp, days=60, max_uses=100)
    tx = registry.grantLicense(terms, sender=mandated)
    assert tx.events[0].grantor == mandated.address
    assert registry.getLicense(1).licensee == brand.address
    assert registry.grantorOf(1) == mandated.address


@pytest.mark.parametrize(
    "override, cap",
    [
        (dict(days=61), "duration"),
        (dict(channels=("social", "print")), "channels"),
        (dict(transforms=("outfit", "pose")), "transforms"),  # face would need the model's consent (test_consent)
        (dict(where=("EU", "JP")), "territories"),
        (dict(max_uses=101), "uses"),
        (dict(max_uses=0), "uses"),
        (dict(fee=FEE - 1), "fee"),
        (dict(training=True), "training"),  # the mandate does not allow AI training
    ],
)
def test_an_agent_cannot_exceed_its_mandate(registry, mandated, brand, twin, chain, override, cap):
    terms = make_terms(twin, brand, chain.pending_timestamp, **{"max_uses": 100, **override})
    with ape.reverts(registry.MandateExceeded, twinId=twin, agent=mandated.address, cap=cap):
        registry.grantLicense(terms, sender=mandated)


# ------------------------------------------------------------------ start and end: the mandate bounds the span


def test_an_agent_license_must_start_before_the_mandate_expires(registry, agent, brand, twin, appoint):
    expiry = appoint(agent, days=30, max_days=30)[0]
    for start in (expiry, expiry + 1, expiry + 400 * DAY):
        with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address, cap="start"):
            registry.grantLicense(make_terms(twin, brand, start, days=1), sender=agent)
    registry.grantLicense(make_terms(twin, brand, expiry - 1, days=30), sender=agent)
    assert registry.getLicense(1).validFrom == expiry - 1


def test_forward_dated_licenses_cannot_chain_past_the_mandate(registry, agent, brand, twin, appoint, chain):
    """An agent with a 30-day mandate and 30-day licenses once could chain forward-dated licenses for ever
    (day 0-30, 30-60, 60-90, ...). Now no license reaches past expiry + maxDuration."""
    expiry, max_duration = appoint(agent, days=30, max_days=30)[:2]
    now = chain.pending_timestamp
    registry.grantLicense(make_terms(twin, brand, now, days=30), sender=agent)
    registry.grantLicense(make_terms(twin, brand, expiry - 1, days=30), sender=agent)  # the last link
    assert registry.getLicense(2).validUntil == expiry - 1 + max_duration
    for start, days in [
        (now + 30 * DAY, 30),  # ends 60 days out, starting at expiry
        (expiry - 1 + 30 * DAY, 30),  # the next link of the chain
        (now + 60 * DAY, 30),  # further out
        (expiry - DAY, 31),  # ends a day past expiry + maxDuration
        (now, 61),
    ]:  # one license ending 61 days out
        with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address):
            registry.grantLicense(make_terms(twin, brand, start, days=days), sender=agent)
    assert registry.counts()[1] == 2
    latest_end = max(registry.getLicense(i).validUntil for i in (1, 2))
    assert latest_end <= expiry + max_duration


def test_start_and_duration_keep_every_agent_license_inside_expiry_plus_max_duration(registry, agent, brand, twin, appoint):
    """The latest start an agent may give is just before expiry, the longest span maxDuration: a license
    ending past expiry + maxDuration is refused by one of the two (there is no separate 'end' cap)."""
    expiry, max_duration = appoint(agent, days=30, max_days=30)[:2]
    terms = make_terms(twin, brand, expiry - DAY, days=1)
    terms = terms[:6] + (expiry + max_duration + 1,) + terms[7:]
    with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address, cap="duration"):
        registry.grantLicense(terms, sender=agent)
    late = make_terms(twin, brand, expiry, days=1)
    with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address, cap="start"):
        registry.grantLicense(late, sender=agent)


# ------------------------------------------------------------------ territories and uses


@pytest.mark.parametrize(
    "mandate, license, ok",
    [
        (("EU",), ("FR",), True),  # a member state under EU
        (("EU",), ("FR", "DE", "IT"), True),
        (("EU",), ("EU",), True),
        (("WW",), ("EU",), True),  # EU under WW
        (("WW",), ("JP", "EU", "US"), True),
        (("FR", "US"), ("US",), True),
        (("US", "EU"), ("SE", "US"), True),
        (("EU",), ("WW",), False),  # WW is wider than EU
        (("FR", "DE"), ("EU",), False),  # EU is wider than a list of its members
        (("EU",), ("FR", "US"), False),  # one territory outside is enough
        (("EU",), ("GB",), False),
        (("FR", "US"), ("DE",), False),
    ],
)
def test_an_agent_grants_only_territories_its_mandate_covers(registry, agent, brand, twin, appoint, chain, mandate, license, ok):
    appoint(agent, where=mandate)
    terms = make_terms(twin, brand, chain.pending_timestamp, where=license)
    if ok:
        registry.grantLicense(terms, sender=agent)
        assert registry.getLicense(1).territories == territories(*license)
    else:
        with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address, cap="territories"):
            registry.grantLicense(terms, sender=agent)


@pytest.mark.parametrize(
    "cap, max_uses, ok",
    [
        (0, 0, True),  # no cap: unlimited licenses allowed
        (0, 10**6, True),
        (10, 10, True),
        (10, 1, True),
        (10, 11, False),
        (10, 0, False),  # 0 = unlimited, more than any cap
    ],
)
def test_an_agent_grants_only_as_many_uses_as_its_mandate_allows(registry, agent, brand, twin, appoint, chain, cap, max_uses, ok):
    appoint(agent, max_uses=cap)
    terms = make_terms(twin, brand, chain.pending_timestamp, max_uses=max_uses)
    if ok:
        registry.grantLicense(terms, sender=agent)
        assert registry.getLicense(1).maxUses == max_uses
    else:
        with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address, cap="uses"):
            registry.grantLicense(terms, sender=agent)


# ------------------------------------------------------------------ expiry and revocation of the mandate


def test_an_expired_mandate_grants_nothing(registry, mandated, brand, twin, chain, caps):
    chain.pending_timestamp = caps[0] + 1
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=mandated.address):
        registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=mandated)


def test_a_revoked_agent_can_neither_grant_nor_revoke(registry, model, mandated, brand, twin, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, max_uses=100), sender=mandated)
    tx = registry.revokeAgent(twin, mandated, sender=model)
    assert tx.events == [registry.AgentRevoked(twinId=twin, agent=mandated)]
    assert registry.getMandate(twin, mandated).expiry == 0
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=mandated.address):
        registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=mandated)
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=mandated.address):
        registry.revokeLicense(1, 0, sender=mandated)
    assert registry.grantorOf(1) == mandated.address  # the record of who granted it stays


def test_an_agent_cannot_revoke_after_its_mandate_expires(registry, agent, brand, twin, appoint, chain):
    expiry = appoint(agent, days=10)[0]
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, days=30), sender=agent)
    chain.pending_timestamp = expiry
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=agent.address):
        registry.revokeLicense(1, 0, sender=agent)


def test_a_mandated_agent_revokes_a_license_it_granted(registry, mandated, brand, twin, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, max_uses=100), sender=mandated)
    tx = registry.revokeLicense(1, 0, sender=mandated)
    assert tx.events[0].by == mandated.address
    assert registry.getLicense(1).revoked


def test_an_agent_revokes_only_the_licenses_it_granted(registry, model, agent, other, brand, twin, appoint, chain):
    appoint(agent, channels=("social",))
    appoint(other)
    now = chain.pending_timestamp
    registry.grantLicense(make_terms(twin, brand, now), sender=model)  # 1: the model's
    registry.grantLicense(make_terms(twin, brand, now), sender=other)  # 2: another agent's
    registry.grantLicense(make_terms(twin, brand, now, channels=("social",)), sender=agent)  # 3: its own
    for lid in (1, 2):
        with ape.reverts(registry.NotGrantor, licenseId=lid, account=agent.address):
            registry.revokeLicense(lid, 0, sender=agent)
    registry.revokeLicense(3, 0, sender=agent)
    assert [registry.getLicense(i).revoked for i in (1, 2, 3)] == [False, False, True]
    assert [registry.grantorOf(i) for i in (1, 2, 3)] == [model.address, other.address, agent.address]


def test_the_model_revokes_any_license_of_her_twin(registry, model, agent, brand, twin, appoint, chain):
    appoint(agent)
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=agent)
    tx = registry.revokeLicense(1, 0, sender=model)
    assert tx.events[0].by == model.address
    assert registry.getLicense(1).revoked


def test_a_mandate_for_one_twin_gives_no_power_over_another(registry, model, mandated, brand, chain):
    registry.registerTwin(b"\x55" * 32, 1, b"\x00" * 32, "", sender=model)
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=2, account=mandated.address):
        registry.grantLicense(make_terms(2, brand, chain.pending_timestamp), sender=mandated)
    registry.grantLicense(make_terms(2, brand, chain.pending_timestamp), sender=model)
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=2, account=mandated.address):
        registry.revokeLicense(1, 0, sender=mandated)


def test_grantor_of_an_unknown_license_is_refused(registry):
    with ape.reverts(registry.UnknownLicense, licenseId=3):
        registry.grantorOf(3)
