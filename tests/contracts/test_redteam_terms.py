"""Red-team tests of registry 2.2 on chain: the model's consent to alterations used for other terms than she
signed, a consent's signature passed off as an offer, suspension combined with revocation. The one hole found
(a consent reused for wider terms under the same terms hash) is fixed: the consent now signs the entire Terms;
every test here is an attack the registry refuses."""

import ape
import pytest

from conftest import DAY, FEE, code, content, imprint, make_consent, make_terms, sign_consent, sign_offer
from consentry import vocab

SOCIAL = vocab.CHANNELS.index("social")
FACE_OUTFIT = vocab.transform_mask(["outfit", "face"])


@pytest.fixture
def deadline(chain):
    return chain.pending_timestamp + DAY


@pytest.fixture
def wide_mandate(appoint, agent):
    """An agency with a broad mandate (every channel, worldwide, a year's licenses, unlimited uses, a low fee floor)."""
    appoint(
        agent,
        days=365,
        max_days=365,
        channels=vocab.CHANNELS,
        transforms=("outfit", "background"),
        where=("WW",),
        fee=1,
    )
    return agent


@pytest.mark.parametrize(
    "override",
    [
        dict(channels=vocab.CHANNELS),  # the model consented to social and ecommerce only
        dict(where=("WW",)),  # she consented to EU and US
        dict(days=365),  # she consented to 30 days
        dict(max_uses=0),  # she consented to 10 uses
        dict(fee=1),  # she consented to a fee of 0.001 ether per use
    ],
)
def test_a_consent_cannot_be_used_for_wider_terms_with_the_same_hash(
    registry, model, wide_mandate, brand, twin, deadline, chain, override
):
    start = chain.pending_timestamp
    signed_terms = make_terms(twin, brand, start, transforms=("outfit", "face"))
    consent = make_consent(signed_terms, wide_mandate, nonce=5, deadline=deadline)
    sig = sign_consent(model, consent, chain.chain_id, registry)
    wider = make_terms(twin, brand, start, transforms=("outfit", "face"), **override)
    assert wider != signed_terms and wider[12] == signed_terms[12]  # same terms hash, other terms
    # fixed: the consent signs the whole Terms, so over other terms it recovers to someone else
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithConsent(wider, consent, sig, sender=wide_mandate)
    assert registry.counts()[1] == 0 and not registry.isNonceUsed(model, 5)


def test_the_consent_grants_exactly_the_terms_it_was_signed_with(registry, model, wide_mandate, brand, twin, deadline, chain):
    """The control of the test above: the signed terms themselves are granted."""
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("outfit", "face"))
    consent = make_consent(terms, wide_mandate, nonce=6, deadline=deadline)
    registry.grantLicenseWithConsent(terms, consent, sign_consent(model, consent, chain.chain_id, registry), sender=wide_mandate)
    assert registry.getLicense(1).transforms == FACE_OUTFIT and registry.grantorOf(1) == wide_mandate.address


def test_a_consent_signature_is_not_an_offer(registry, model, wide_mandate, brand, twin, deadline, chain):
    """A brand holding the model's consent (given to its agency) cannot submit it as an offer signed by her."""
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("outfit", "face"))
    consent = make_consent(terms, wide_mandate, nonce=11, deadline=deadline)
    sig = sign_consent(model, consent, chain.chain_id, registry)
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithSignature(terms, 11, deadline, sig, sender=brand)
    assert registry.counts()[1] == 0 and not registry.isNonceUsed(model, 11)


def test_an_offer_signature_is_not_a_consent(registry, model, wide_mandate, brand, twin, deadline, chain):
    """An agency holding the model's offer to a brand cannot pass it off as her consent to alterations."""
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("outfit", "face"))
    offer_sig = sign_offer(model, terms, 12, deadline, chain.chain_id, registry)
    consent = make_consent(terms, wide_mandate, nonce=12, deadline=deadline)
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithConsent(terms, consent, offer_sig, sender=wide_mandate)


def test_an_agent_submitting_the_models_offer_with_face_grants_as_the_model(
    registry, model, wide_mandate, brand, twin, deadline, chain
):
    """The signed-offer path gives the agent nothing: the license is the model's grant, not the agent's."""
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("face",))
    sig = sign_offer(model, terms, 13, deadline, chain.chain_id, registry)
    tx = registry.grantLicenseWithSignature(terms, 13, deadline, sig, sender=wide_mandate)
    assert tx.events[0].grantor == model.address and registry.grantorOf(1) == model.address
    with ape.reverts(registry.NotGrantor):
        registry.revokeLicense(1, 0, sender=wide_mandate)


def test_a_consent_signed_with_v_below_27_or_a_high_s_is_handled(registry, model, wide_mandate, brand, twin, deadline, chain):
    """Malleability: the (r, n - s, v ^ 1) twin of the model's signature is refused; v given as 0/1 is accepted."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("outfit", "face"))
    consent = make_consent(terms, wide_mandate, nonce=14, deadline=deadline)
    sig = sign_consent(model, consent, chain.chain_id, registry)
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    flipped = r + (n - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    with ape.reverts(registry.InvalidSignature):
        registry.grantLicenseWithConsent(terms, consent, flipped, sender=wide_mandate)
    registry.grantLicenseWithConsent(terms, consent, sig[:64] + bytes([v - 27]), sender=wide_mandate)
    assert registry.isNonceUsed(model, 14)


def test_resuming_a_revoked_license_publishes_nothing(registry, model, brand, twin, chain):
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("outfit",), where=("FR",))
    registry.grantLicense(terms, sender=model)
    registry.suspendLicense(1, sender=model)
    registry.revokeLicense(1, 0, sender=model)
    registry.resumeLicense(1, sender=model)
    with ape.reverts(registry.LicenseRevokedAt):
        registry.publish(1, SOCIAL, code("FR"), 1, 0, [content(0)], imprint(0), value=FEE, sender=brand)
    assert not registry.isLicenseValid(1, chain.pending_timestamp)


def test_a_suspended_license_records_nothing_even_for_free_and_in_a_batch(registry, model, brand, twin, chain):
    terms = make_terms(twin, brand, chain.pending_timestamp, transforms=("outfit",), where=("FR",), fee=0, max_uses=0)
    registry.grantLicense(terms, sender=model)
    registry.suspendLicense(1, sender=model)
    for n in (1, 50):
        with ape.reverts(registry.LicenseIsSuspended, licenseId=1):
            registry.publish(
                1, SOCIAL, code("FR"), 1, 0, [content(i) for i in range(n)], b"".join(imprint(i) for i in range(n)), sender=brand
            )
    assert registry.getLicense(1).uses == 0
