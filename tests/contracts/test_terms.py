"""The terms a license carries besides channels, territories and dates (issue 11): AI training, what happens to
published images after the end, and the currency of the fee, as flags on the stored license and in its event."""

import ape
import pytest
from eth_utils import to_checksum_address

from conftest import NATIVE, REMOVE_AFTER_END, SUSPENDED, TOKEN_FEE, TRAINING, make_terms


@pytest.mark.parametrize(
    "training, remove_after_end, token, flags",
    [
        (False, False, False, 0),
        (True, False, False, TRAINING),
        (False, True, False, REMOVE_AFTER_END),
        (True, True, False, TRAINING | REMOVE_AFTER_END),
        (False, False, True, TOKEN_FEE),
        (True, True, True, TRAINING | REMOVE_AFTER_END | TOKEN_FEE),
    ],
)
def test_flags_are_stored_and_emitted(registry, model, brand, twin, chain, usdc, training, remove_after_end, token, flags):
    currency = usdc.address if token else NATIVE
    terms = make_terms(
        twin, brand, chain.pending_timestamp, currency=currency, training=training, remove_after_end=remove_after_end
    )
    tx = registry.grantLicense(terms, sender=model)
    (granted,) = tx.events
    assert (granted.flags, granted.currency) == (flags, currency)
    lic = registry.getLicense(1)
    assert lic.flags == flags
    assert registry.currencyOf(1) == currency
    # the flags live beside the other first-slot fields: nothing else moved
    assert (lic.licensee, lic.twinId, lic.channels, lic.transforms, lic.maxUses) == (brand.address, twin, *terms[2:4], terms[7])
    assert (lic.validFrom, lic.validUntil, lic.feePerUse, lic.territories, lic.uses, lic.revoked) == (
        terms[5],
        terms[6],
        terms[8],
        terms[4],
        0,
        False,
    )


def test_training_and_the_after_end_rule_round_trip_with_extreme_neighbours(registry, model, brand, twin, chain):
    """Every bit of the packed slot next to the flags at its maximum: the flags neither leak into nor take from them."""
    start = chain.pending_timestamp
    terms = list(make_terms(twin, brand, start, training=True, remove_after_end=True))
    terms[2], terms[3], terms[7], terms[8] = 0x3F, 0xFF, 2**32 - 1, 2**80 - 1
    registry.grantLicense(tuple(terms), sender=model)
    lic = registry.getLicense(1)
    assert (lic.channels, lic.transforms, lic.maxUses, lic.feePerUse) == (0x3F, 0xFF, 2**32 - 1, 2**80 - 1)
    assert lic.flags == TRAINING | REMOVE_AFTER_END
    assert lic.flags & SUSPENDED == 0 and lic.flags & TOKEN_FEE == 0


def test_training_is_not_allowed_unless_the_terms_say_so(registry, model, brand, twin, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=model)
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, training=True), sender=model)
    assert [registry.getLicense(i).flags & TRAINING for i in (1, 2)] == [0, TRAINING]


def test_the_currency_of_an_unknown_license_is_refused(registry):
    with ape.reverts(registry.UnknownLicense, licenseId=4):
        registry.currencyOf(4)


def test_a_license_fee_in_a_currency_without_code_is_refused(registry, model, brand, other, twin, chain):
    """An EOA (or an empty address) as currency would take 'payments' that move nothing."""
    for currency in (other.address, to_checksum_address("0x" + "ab" * 20)):
        with ape.reverts(registry.InvalidCurrency, currency=currency):
            registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, currency=currency), sender=model)
    assert registry.counts()[1] == 0
