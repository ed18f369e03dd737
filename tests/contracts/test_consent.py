"""Alterations (age, body, face) need the model's own consent: an agent's mandate alone never covers them
(New York's Fashion Workers Act). The model signs an EIP-712 AlterationConsent once; the agent grants with it."""

import ape
import pytest
from eth_utils import keccak

from conftest import ALTERATIONS, CONSENT_FIELDS, DAY, make_consent, make_terms, sign_consent
from consentry import vocab

FACE, AGE, BODY = (vocab.transform_mask([t]) for t in ("face", "age", "body"))


@pytest.fixture
def mandated(appoint, agent):
    appoint(agent, transforms=("outfit", "background"))
    return agent


@pytest.fixture
def deadline(chain):
    return chain.pending_timestamp + DAY


@pytest.fixture
def altered(twin, brand, chain):
    """Terms with a face alteration beside outfit (which the mandate covers)."""
    return make_terms(twin, brand, chain.pending_timestamp, transforms=("outfit", "face"))


def signed(model, consent, chain, registry):
    return sign_consent(model, consent, chain.chain_id, registry)


@pytest.mark.parametrize(
    "transforms, alterations",
    [(("outfit", "face"), FACE), (("age",), AGE), (("body", "pose"), BODY), (("age", "body", "face", "outfit"), ALTERATIONS)],
)
def test_an_agent_cannot_grant_alterations_on_its_mandate_alone(registry, mandated, brand, twin, chain, transforms, alterations):
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=transforms)
    with ape.reverts(registry.ModelConsentRequired, twinId=twin, alterations=alterations):
        registry.grantLicense(terms, sender=mandated)
    assert registry.counts()[1] == 0


def test_not_even_a_mandate_that_lists_the_alterations_covers_them(registry, agent, brand, twin, appoint, chain):
    appoint(agent, transforms=("outfit", "age", "body", "face"))
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("face",))
    with ape.reverts(registry.ModelConsentRequired, twinId=twin, alterations=FACE):
        registry.grantLicense(terms, sender=agent)


def test_a_stranger_granting_alterations_is_not_authorised_at_all(registry, other, agent, brand, twin, appoint, chain):
    """Only an agent's grant needs the model's consent; someone with no live mandate is not authorised for the
    twin (NotAuthorisedForTwin: "neither the twin's owner nor an agent with a live mandate")."""
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("face",))
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=other.address):
        registry.grantLicense(terms, sender=other)
    expiry = appoint(agent, days=1)[0]
    chain.pending_timestamp = expiry
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=twin, account=agent.address):
        registry.grantLicense(make_terms(twin, brand, expiry, transforms=("face",)), sender=agent)


def test_the_model_herself_needs_no_consent(registry, model, brand, twin, chain):
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("age", "body", "face"))
    tx = registry.grantLicense(terms, sender=model)
    assert tx.events[0].grantor == model.address and tx.events[0].transforms == ALTERATIONS


def test_with_the_models_consent_the_agent_grants_the_alterations(registry, model, mandated, brand, altered, deadline, chain):
    consent = make_consent(altered, mandated, nonce=42, deadline=deadline)
    assert consent[3] == FACE
    tx = registry.grantLicenseWithConsent(altered, consent, signed(model, consent, chain, registry), sender=mandated)
    (granted,) = tx.events
    assert (granted.licenseId, granted.grantor, granted.licensee, granted.transforms) == (
        1,
        mandated.address,
        brand.address,
        altered[3],
    )
    assert registry.grantorOf(1) == mandated.address
    assert registry.getLicense(1).transforms == altered[3]
    assert registry.isNonceUsed(model, 42)
    registry.revokeLicense(1, 0, sender=mandated)  # the agent granted it: it may revoke it
    assert registry.getLicense(1).revoked


def test_a_consent_to_more_alterations_covers_fewer(registry, model, mandated, altered, deadline, chain):
    consent = make_consent(altered, mandated, deadline=deadline, alterations=ALTERATIONS)
    registry.grantLicenseWithConsent(altered, consent, signed(model, consent, chain, registry), sender=mandated)
    assert registry.getLicense(1).transforms & ALTERATIONS == FACE


@pytest.mark.parametrize(
    "field, index, value",
    [
        ("twin", 0, 2),
        ("agent", 1, "other"),
        ("licensee", 2, "other"),
        ("alterations", 3, AGE),  # consented to age, the terms alter the face
        ("termsHash", 4, b"\x44" * 32),
    ],
)
def test_a_consent_for_other_terms_is_refused(registry, model, mandated, other, altered, deadline, chain, field, index, value):
    consent = list(make_consent(altered, mandated, deadline=deadline))
    consent[index] = other.address if value == "other" else value
    consent = tuple(consent)
    with ape.reverts(registry.ConsentMismatch, twinId=altered[0], field=field):
        registry.grantLicenseWithConsent(altered, consent, signed(model, consent, chain, registry), sender=mandated)
    assert registry.counts()[1] == 0 and not registry.isNonceUsed(model, 0)


def test_narrower_alterations_than_the_terms_are_refused(registry, model, mandated, brand, twin, deadline, chain):
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("outfit", "face", "age"))
    consent = make_consent(terms, mandated, deadline=deadline, alterations=FACE)
    with ape.reverts(registry.ConsentMismatch, twinId=twin, field="alterations"):
        registry.grantLicenseWithConsent(terms, consent, signed(model, consent, chain, registry), sender=mandated)


def test_another_agent_cannot_use_a_consent_given_for_the_first(
    registry, model, mandated, other, appoint, altered, deadline, chain
):
    appoint(other)
    consent = make_consent(altered, mandated, deadline=deadline)
    with ape.reverts(registry.ConsentMismatch, twinId=altered[0], field="agent"):
        registry.grantLicenseWithConsent(altered, consent, signed(model, consent, chain, registry), sender=other)


def test_a_consent_signed_by_someone_else_is_refused(registry, model, mandated, other, altered, deadline, chain):
    consent = make_consent(altered, mandated, deadline=deadline)
    with ape.reverts(registry.InvalidSignature, recovered=other.address, expected=model.address):
        registry.grantLicenseWithConsent(altered, consent, signed(other, consent, chain, registry), sender=mandated)
    # the agent itself cannot sign the model's consent either
    with ape.reverts(registry.InvalidSignature, recovered=mandated.address, expected=model.address):
        registry.grantLicenseWithConsent(altered, consent, signed(mandated, consent, chain, registry), sender=mandated)


def test_a_consent_whose_fields_were_changed_after_signing_is_refused(registry, model, mandated, altered, deadline, chain):
    narrow = make_consent(altered, mandated, deadline=deadline, alterations=FACE)
    wide = make_consent(altered, mandated, deadline=deadline, alterations=ALTERATIONS)
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithConsent(altered, wide, signed(model, narrow, chain, registry), sender=mandated)
    later = make_consent(altered, mandated, deadline=deadline + DAY)
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithConsent(altered, later, signed(model, narrow, chain, registry), sender=mandated)


def test_a_consent_signed_for_another_registry_or_domain_version_is_refused(
    project, registry, model, mandated, altered, deadline, chain, accounts
):
    consent = make_consent(altered, mandated, deadline=deadline)
    elsewhere = project.ConsentRegistry.deploy(sender=accounts[8])
    for sig in (
        sign_consent(model, consent, chain.chain_id, elsewhere),
        sign_consent(model, consent, chain.chain_id, registry, version="1"),
        sign_consent(model, consent, chain.chain_id + 1, registry),
    ):
        with ape.reverts(registry.InvalidSignature, expected=model.address):
            registry.grantLicenseWithConsent(altered, consent, sig, sender=mandated)


def test_a_consent_is_used_once(registry, model, mandated, altered, deadline, chain):
    consent = make_consent(altered, mandated, nonce=7, deadline=deadline)
    sig = signed(model, consent, chain, registry)
    registry.grantLicenseWithConsent(altered, consent, sig, sender=mandated)
    with ape.reverts(registry.OfferNonceUsed, model=model.address, nonce=7):
        registry.grantLicenseWithConsent(altered, consent, sig, sender=mandated)
    assert registry.counts()[1] == 1


def test_consents_share_the_models_nonces_with_offers(registry, model, mandated, altered, deadline, chain):
    """Cancelling nonce 9 withdraws whatever the model signed with it, offer or consent."""
    consent = make_consent(altered, mandated, nonce=9, deadline=deadline)
    registry.cancelOffer(9, sender=model)
    with ape.reverts(registry.OfferNonceUsed, model=model.address, nonce=9):
        registry.grantLicenseWithConsent(altered, consent, signed(model, consent, chain, registry), sender=mandated)


def test_an_expired_consent_is_refused(registry, model, mandated, altered, chain):
    deadline = chain.pending_timestamp + 60
    consent = make_consent(altered, mandated, deadline=deadline)
    sig = signed(model, consent, chain, registry)
    chain.pending_timestamp = deadline + 1
    with ape.reverts(registry.OfferExpired, deadline=deadline):
        registry.grantLicenseWithConsent(altered, consent, sig, sender=mandated)


@pytest.mark.parametrize(
    "override, cap",
    [
        (dict(transforms=("face", "pose")), "transforms"),  # pose is no alteration: the mandate caps it
        (dict(transforms=("face",), channels=("print",)), "channels"),
        (dict(transforms=("face",), where=("JP",)), "territories"),
        (dict(transforms=("face",), days=61), "duration"),
        (dict(transforms=("face",), training=True), "training"),
    ],
)
def test_the_consent_covers_only_the_alterations_the_mandate_caps_the_rest(
    registry, model, agent, brand, twin, appoint, deadline, chain, override, cap
):
    appoint(agent, transforms=("outfit", "background"), where=("EU", "US"), max_days=60)
    terms = make_terms(twin, brand, chain.pending_timestamp, **override)
    consent = make_consent(terms, agent, deadline=deadline, alterations=ALTERATIONS)
    with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address, cap=cap):
        registry.grantLicenseWithConsent(terms, consent, signed(model, consent, chain, registry), sender=agent)


def test_a_consent_gives_no_power_without_a_live_mandate(registry, model, agent, other, altered, deadline, chain, appoint):
    consent = make_consent(altered, other, deadline=deadline)
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=altered[0], account=other.address):
        registry.grantLicenseWithConsent(altered, consent, signed(model, consent, chain, registry), sender=other)
    expiry = appoint(agent, days=1)[0]
    consent = make_consent(altered, agent, deadline=expiry + DAY)
    sig = signed(model, consent, chain, registry)
    chain.pending_timestamp = expiry
    with ape.reverts(registry.NotAuthorisedForTwin, twinId=altered[0], account=agent.address):
        registry.grantLicenseWithConsent(altered, consent, sig, sender=agent)


def test_the_consent_type_hash_matches_the_interface(registry):
    consent_type = (
        "AlterationConsent(uint256 twinId,address agent,address licensee,uint8 alterations,bytes32 termsHash,"
        "uint256 nonce,uint256 deadline)"
    )
    assert consent_type == "AlterationConsent(" + ",".join(f"{t} {n}" for n, t in CONSENT_FIELDS) + ")"
    assert registry.CONSENT_TYPEHASH() == keccak(text=consent_type)
