"""EIP-712 signed offers: the model signs off-chain, anyone submits; replays and forgeries fail."""

import ape
import pytest
from eth_account import Account

from conftest import DAY, DOMAIN_NAME, NATIVE, OFFER_FIELDS, REMOVE_AFTER_END, TOKEN_FEE, TRAINING, make_terms, sign_offer
from consentry import offers


@pytest.fixture
def signer(model):
    return Account.from_key(model.private_key)


@pytest.fixture
def deadline(chain):
    return chain.pending_timestamp + DAY


def sign(signer, terms, nonce, deadline, registry, chain_id, version="2"):
    return sign_offer(signer, terms, nonce, deadline, chain_id, registry, version)


def test_a_signed_offer_is_accepted_by_the_brand(registry, model, brand, signer, terms, deadline, chain):
    sig = sign(signer, terms, 0, deadline, registry, chain.chain_id)
    tx = registry.grantLicenseWithSignature(terms, 0, deadline, sig, sender=brand)
    assert tx.events[0].grantor == model.address
    assert registry.getLicense(1).licensee == brand.address
    assert registry.grantorOf(1) == model.address
    assert registry.isNonceUsed(model, 0)
    assert not registry.isNonceUsed(model, 1)


def test_anyone_may_submit_the_offer_for_the_brand(registry, model, other, brand, signer, terms, deadline, chain):
    sig = sign(signer, terms, 3, deadline, registry, chain.chain_id)
    registry.grantLicenseWithSignature(terms, 3, deadline, sig, sender=other)
    assert registry.getLicense(1).licensee == brand.address
    assert registry.grantorOf(1) == model.address  # the signer, not whoever submitted it


def test_an_offer_cannot_be_replayed(registry, model, brand, signer, terms, deadline, chain):
    sig = sign(signer, terms, 0, deadline, registry, chain.chain_id)
    registry.grantLicenseWithSignature(terms, 0, deadline, sig, sender=brand)
    with ape.reverts(registry.OfferNonceUsed, model=model.address, nonce=0):
        registry.grantLicenseWithSignature(terms, 0, deadline, sig, sender=brand)


def test_an_expired_offer_is_refused(registry, brand, signer, terms, chain):
    deadline = chain.pending_timestamp + 60
    sig = sign(signer, terms, 0, deadline, registry, chain.chain_id)
    chain.pending_timestamp = deadline + 1
    with ape.reverts(registry.OfferExpired, deadline=deadline):
        registry.grantLicenseWithSignature(terms, 0, deadline, sig, sender=brand)


def test_an_offer_signed_by_someone_else_is_refused(registry, model, brand, other, terms, deadline, chain):
    forger = Account.from_key(other.private_key)
    sig = sign(forger, terms, 0, deadline, registry, chain.chain_id)
    with ape.reverts(registry.InvalidSignature, recovered=other.address, expected=model.address):
        registry.grantLicenseWithSignature(terms, 0, deadline, sig, sender=brand)


def test_an_offer_for_another_chain_is_refused(registry, model, brand, signer, terms, deadline, chain):
    sig = sign(signer, terms, 0, deadline, registry, chain.chain_id + 1)
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithSignature(terms, 0, deadline, sig, sender=brand)


def test_an_offer_for_another_registry_is_refused(project, registry, model, brand, signer, terms, deadline, chain, accounts):
    other_registry = project.ConsentRegistry.deploy(sender=accounts[8])
    sig = sign(signer, terms, 0, deadline, other_registry, chain.chain_id)
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithSignature(terms, 0, deadline, sig, sender=brand)


def test_changed_terms_invalidate_the_signature(registry, model, brand, signer, terms, deadline, chain):
    sig = sign(signer, terms, 0, deadline, registry, chain.chain_id)
    tampered = terms[:7] + (terms[7] * 100,) + terms[8:]
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithSignature(tampered, 0, deadline, sig, sender=brand)


def test_a_malformed_signature_is_refused(registry, model, brand, terms, deadline):
    with ape.reverts(registry.InvalidSignature, recovered="0x" + "00" * 20, expected=model.address):
        registry.grantLicenseWithSignature(terms, 0, deadline, b"\x01" * 64, sender=brand)


def test_the_model_cancels_an_unused_offer(registry, model, brand, signer, terms, deadline, chain):
    sig = sign(signer, terms, 7, deadline, registry, chain.chain_id)
    tx = registry.cancelOffer(7, sender=model)
    assert tx.events == [registry.OfferCancelled(model=model, nonce=7)]
    with ape.reverts(registry.OfferNonceUsed, model=model.address, nonce=7):
        registry.grantLicenseWithSignature(terms, 7, deadline, sig, sender=brand)


@pytest.mark.parametrize("field, value", [(9, "currency"), (10, True), (11, True)])
def test_the_new_terms_are_signed_too(registry, model, brand, signer, terms, deadline, chain, usdc, field, value):
    """Currency, training and the after-end rule are in the Offer type: a brand cannot switch them."""
    sig = sign(signer, terms, 0, deadline, registry, chain.chain_id)
    tampered = list(terms)
    tampered[field] = usdc.address if value == "currency" else value
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithSignature(tuple(tampered), 0, deadline, sig, sender=brand)


def test_a_signed_offer_carries_currency_training_and_the_after_end_rule(registry, brand, signer, deadline, chain, twin, usdc):
    terms = make_terms(twin, brand, chain.pending_timestamp, currency=usdc, training=True, remove_after_end=True)
    sig = sign(signer, terms, 11, deadline, registry, chain.chain_id)
    tx = registry.grantLicenseWithSignature(terms, 11, deadline, sig, sender=brand)
    assert (tx.events[0].currency, tx.events[0].flags) == (usdc.address, TRAINING | REMOVE_AFTER_END | TOKEN_FEE)
    assert registry.getLicense(1).flags == TRAINING | REMOVE_AFTER_END | TOKEN_FEE
    assert registry.currencyOf(1) == usdc.address


def test_an_offer_signed_under_the_old_domain_version_is_refused(registry, model, brand, signer, terms, deadline, chain):
    sig = sign(signer, terms, 0, deadline, registry, chain.chain_id, version="1")
    with ape.reverts(registry.InvalidSignature, expected=model.address):
        registry.grantLicenseWithSignature(terms, 0, deadline, sig, sender=brand)


def test_offers_use_unordered_nonces(registry, brand, signer, terms, deadline, chain):
    for nonce in (300, 5, 6):
        sig = sign(signer, terms, nonce, deadline, registry, chain.chain_id)
        registry.grantLicenseWithSignature(terms, nonce, deadline, sig, sender=brand)
    assert registry.counts()[1] == 3


def test_the_domain_separator_and_type_hashes_match_the_interface(registry, chain):
    from eth_utils import keccak
    from eth_abi import encode

    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak(text=DOMAIN_NAME),
                keccak(text="2"),
                chain.chain_id,
                registry.address,
            ],
        )
    )
    assert registry.getDomainSeparator() == expected
    offer_type = (
        "Offer(uint256 twinId,address licensee,uint8 channels,uint8 transforms,uint56 territories,uint40 validFrom,"
        "uint40 validUntil,uint32 maxUses,uint80 feePerUse,address currency,bool trainingAllowed,bool removeAfterEnd,"
        "bytes32 termsHash,uint256 nonce,uint256 deadline)"
    )
    assert offer_type == "Offer(" + ",".join(f"{t} {n}" for n, t in OFFER_FIELDS) + ")"
    assert registry.OFFER_TYPEHASH() == keccak(text=offer_type)


def test_the_client_signs_offers_the_registry_accepts(registry, model, brand, signer, terms, deadline, chain):
    """consentry.offers (what `license offer` signs) speaks the registry's Offer type and domain."""
    from eth_utils import keccak

    assert registry.OFFER_TYPEHASH() == keccak(text="Offer(" + ",".join(f"{t} {n}" for n, t in offers.OFFER_FIELDS) + ")")
    sig = offers.sign(signer, dict(zip(offers.TERMS_KEYS, terms)), 5, deadline, chain.chain_id, registry.address)
    registry.grantLicenseWithSignature(terms, 5, deadline, sig, sender=brand)
    assert registry.grantorOf(1) == model.address
    assert NATIVE == registry.currencyOf(1)
