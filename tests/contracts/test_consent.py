"""Alterations (age, body, face) need the model's own consent: an agent's mandate alone never covers them
(New York's Fashion Workers Act). The model signs an EIP-712 AlterationConsent once, over the grant's entire
Terms; the agent grants exactly those terms with it."""

import ape
import pytest
from eth_utils import keccak

from conftest import ALTERATIONS, CONSENT_FIELDS, DAY, FEE, TERMS_FIELDS, make_consent, make_terms, sign_consent
from consentry import offers, vocab

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
    assert consent == (mandated.address, 42, deadline)  # the terms travel beside it, as the grant's own
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


@pytest.mark.parametrize(
    "consented, granted",
    [
        (("age", "body", "face", "outfit"), ("outfit", "face")),  # more alterations do not cover fewer
        (("outfit", "face"), ("outfit", "face", "age")),  # nor fewer more
        (("outfit", "age"), ("outfit", "face")),  # nor others
        (("outfit", "face"), ("face",)),  # nor even the same alteration without the outfit
    ],
)
def test_a_consent_is_for_its_exact_alterations(registry, model, mandated, brand, twin, deadline, chain, consented, granted):
    start = chain.pending_timestamp
    consent = make_consent(make_terms(twin, brand, start, transforms=consented), mandated, deadline=deadline)
    terms = make_terms(twin, brand, start, transforms=granted)
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithConsent(terms, consent, signed(model, consent, chain, registry), sender=mandated)
    assert registry.counts()[1] == 0 and not registry.isNonceUsed(model, 0)


@pytest.mark.parametrize(
    "field, override, mandate",
    [
        ("licensee", dict(licensee="other"), {}),
        ("termsHash", dict(terms_hash=b"\x44" * 32), {}),
        ("channels", dict(channels=("social",)), {}),  # even narrower terms: she signed social and ecommerce
        ("territories", dict(where=("EU", "US", "JP")), {}),
        ("territories", dict(where=("EU",)), {}),
        ("validFrom", dict(valid_from="later"), {}),
        ("validUntil", dict(days=31), {}),
        ("maxUses", dict(max_uses=11), {}),
        ("maxUses", dict(max_uses=0), {}),  # unlimited
        ("feePerUse", dict(fee=FEE + 1), {}),
        ("currency", dict(currency="usdc"), dict(currency="usdc")),  # the same number, in tokens instead of ether
        ("trainingAllowed", dict(training=True), dict(training=True)),
        ("removeAfterEnd", dict(remove_after_end=True), {}),
    ],
)
def test_a_consent_for_other_terms_is_refused(
    registry, model, agent, other, brand, twin, usdc, appoint, deadline, chain, field, override, mandate
):
    """The consent signs every field of the terms: the agent cannot reuse it (with the same terms document or
    another) for other terms, even ones its mandate allows; the signature then recovers to someone else."""
    fixtures = dict(other=other, usdc=usdc)
    appoint(agent, transforms=("outfit", "background"), **{k: fixtures.get(v, v) for k, v in mandate.items()})
    start = chain.pending_timestamp
    consented = make_terms(twin, brand, start, transforms=("outfit", "face"))
    consent = make_consent(consented, agent, nonce=3, deadline=deadline)
    sig = signed(model, consent, chain, registry)
    changes = {k: start + DAY if v == "later" else fixtures.get(v, v) if isinstance(v, str) else v for k, v in override.items()}
    terms = make_terms(twin, changes.pop("licensee", brand), start, transforms=("outfit", "face"), **changes)
    assert terms != consented
    assert [n for (n, _), a, b in zip(TERMS_FIELDS, consented, terms) if a != b] == [field]
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithConsent(terms, consent, sig, sender=agent)
    assert registry.counts()[1] == 0 and not registry.isNonceUsed(model, 3)


def test_a_consent_for_another_twin_of_hers_is_refused(registry, model, mandated, appoint, altered, deadline, chain):
    registry.registerTwin(b"\x55" * 32, 1, b"\x66" * 32, "ipfs://second", sender=model)
    appoint(mandated, twin_id=2, transforms=("outfit", "background"))
    consent = make_consent(altered, mandated, deadline=deadline)
    other_twin = (2,) + altered[1:]
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithConsent(other_twin, consent, signed(model, consent, chain, registry), sender=mandated)
    assert registry.counts()[1] == 0


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


def test_a_consent_whose_fields_were_changed_after_signing_is_refused(
    registry, model, mandated, other, appoint, altered, deadline, chain
):
    consent = make_consent(altered, mandated, deadline=deadline)
    sig = signed(model, consent, chain, registry)
    for tampered in (consent.replace(nonce=1), consent.replace(deadline=deadline + DAY)):
        with ape.reverts(registry.InvalidSignature, expected=model.address):
            registry.grantLicenseWithConsent(altered, tampered, sig, sender=mandated)
    # another agent putting its own address in the consent: the signature no longer matches
    appoint(other, transforms=("outfit", "background"))
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithConsent(altered, consent.replace(agent=other), sig, sender=other)
    # the first agent, handed a consent naming another agent, is refused before the signature is checked
    with ape.reverts(registry.ConsentMismatch, twinId=altered[0], field="agent"):
        registry.grantLicenseWithConsent(altered, consent.replace(agent=other), sig, sender=mandated)
    assert registry.counts()[1] == 0


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
    consent = make_consent(terms, agent, deadline=deadline)  # her consent to exactly these terms
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
    terms_type = (
        "Terms(uint256 twinId,address licensee,uint8 channels,uint8 transforms,uint56 territories,uint40 validFrom,"
        "uint40 validUntil,uint32 maxUses,uint80 feePerUse,address currency,bool trainingAllowed,bool removeAfterEnd,"
        "bytes32 termsHash)"
    )
    consent_type = "AlterationConsent(address agent,Terms terms,uint256 nonce,uint256 deadline)"
    assert terms_type == "Terms(" + ",".join(f"{t} {n}" for n, t in TERMS_FIELDS) + ")"
    assert consent_type == "AlterationConsent(" + ",".join(f"{t} {n}" for n, t in CONSENT_FIELDS) + ")"
    assert registry.TERMS_TYPEHASH() == keccak(text=terms_type)
    # EIP-712: a referenced struct's type is appended to the primary type's
    assert registry.CONSENT_TYPEHASH() == keccak(text=consent_type + terms_type)


def test_the_client_signs_consents_the_registry_accepts(registry, model, mandated, altered, deadline, chain):
    """consentry.offers (what `license consent` signs) speaks the registry's AlterationConsent type and domain."""
    from eth_account import Account

    signer = Account.from_key(model.private_key)
    assert offers.CONSENT_FIELDS == CONSENT_FIELDS
    terms = dict(zip(offers.TERMS_KEYS, altered))
    consent = {"agent": mandated.address, "nonce": 2**255 + 7, "deadline": deadline}
    sig = offers.sign_consent(signer, consent, terms, chain.chain_id, registry.address)
    assert offers.consent_tuple(consent) == (mandated.address, 2**255 + 7, deadline)
    registry.grantLicenseWithConsent(altered, offers.consent_tuple(consent), sig, sender=mandated)
    assert registry.grantorOf(1) == mandated.address and registry.isNonceUsed(model, 2**255 + 7)
    # signed by the client for other terms, it is refused
    wider = dict(terms, maxUses=0)
    sig = offers.sign_consent(signer, dict(consent, nonce=8), wider, chain.chain_id, registry.address)
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithConsent(altered, (mandated.address, 8, deadline), sig, sender=mandated)
