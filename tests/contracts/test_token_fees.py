"""Fees in an ERC-20 stablecoin (issue 11): a license names its currency, publish pulls the fee with the
licensee's allowance, the model withdraws each currency separately; mandates cap the currency and training."""

import ape
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from conftest import DAY, FEE, NATIVE, TOKEN_FEE, USDC, code, content, imprint, make_caps, make_terms
from consentry import vocab

SOCIAL = vocab.CHANNELS.index("social")
OUTFIT = vocab.transform_mask(["outfit"])
PRICE = 25 * USDC // 10  # 2.5 USDC per image
HOSTILE = dict(Honest=0, ReturnsFalse=1, FeeOnTransfer=2, ReturnsNothing=3, Reverts=4, Lies=5)


def publish(registry, brand, lic, n=1, *, value=0, start=0):
    return registry.publish(
        lic,
        SOCIAL,
        code("FR"),
        OUTFIT,
        0,
        [content(start + i) for i in range(n)],
        b"".join(imprint(start + i) for i in range(n)),
        value=value,
        sender=brand,
    )


@pytest.fixture
def token_license(registry, model, brand, twin, usdc, chain):
    """License 1: 2.5 USDC per image; the brand holds 100 USDC and has approved nothing yet."""
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, fee=PRICE, currency=usdc), sender=model)
    usdc.mint(brand, 100 * USDC, sender=brand)
    return 1


def test_the_test_usdc_is_a_six_decimal_erc20_anyone_mints(usdc, other):
    assert (usdc.name(), usdc.symbol(), usdc.decimals()) == ("Test USD Coin", "USDC", 6)
    usdc.mint(other, 7 * USDC, sender=other)
    assert usdc.balanceOf(other) == 7 * USDC and usdc.totalSupply() == 7 * USDC


def test_a_license_names_its_currency(registry, model, brand, twin, usdc, chain):
    tx = registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, fee=PRICE, currency=usdc), sender=model)
    (granted,) = tx.events
    assert (granted.currency, granted.flags, granted.feePerUse) == (usdc.address, TOKEN_FEE, PRICE)
    lic = registry.getLicense(1)
    assert (lic.feePerUse, lic.flags) == (PRICE, TOKEN_FEE)
    assert registry.currencyOf(1) == usdc.address


def test_publishing_without_an_allowance_is_refused(registry, model, brand, usdc, token_license):
    with ape.reverts(registry.TokenTransferFailed, currency=usdc.address, **{"from": brand.address}, amount=2 * PRICE):
        publish(registry, brand, token_license, 2)
    assert registry.getLicense(token_license).uses == 0
    assert registry.feeBalance(model, usdc) == 0 and usdc.balanceOf(brand) == 100 * USDC


def test_publishing_with_too_small_an_allowance_or_balance_is_refused(
    registry, model, brand, other, twin, usdc, chain, token_license
):
    usdc.approve(registry, 2 * PRICE - 1, sender=brand)
    with ape.reverts(registry.TokenTransferFailed, currency=usdc.address, amount=2 * PRICE):
        publish(registry, brand, token_license, 2)
    registry.grantLicense(make_terms(twin, other, chain.pending_timestamp, fee=PRICE, currency=usdc), sender=model)
    usdc.approve(registry, 10 * PRICE, sender=other)  # approved, but holds nothing
    with ape.reverts(registry.TokenTransferFailed, currency=usdc.address, **{"from": other.address}, amount=PRICE):
        publish(registry, other, 2, 1)


def test_with_an_allowance_the_fee_moves_to_the_registry_and_is_credited(registry, model, brand, usdc, token_license):
    usdc.approve(registry, 10 * PRICE, sender=brand)
    tx = publish(registry, brand, token_license, 3)
    assert usdc.balanceOf(brand) == 100 * USDC - 3 * PRICE
    assert usdc.balanceOf(registry) == 3 * PRICE
    assert usdc.allowance(brand, registry) == 7 * PRICE
    assert registry.feeBalance(model, usdc) == 3 * PRICE
    assert registry.feeBalance(model, NATIVE) == 0 and registry.balance == 0
    assert registry.getLicense(token_license).uses == 3
    assert tx.events[0].count == 3  # PublicationsRecorded, three Published, and the token's Transfer
    transfers = [log for log in tx.events if log.event_name == "Transfer"]
    assert [(t["from"], t.to, t.value) for t in transfers] == [(brand.address, registry.address, 3 * PRICE)]


def test_a_token_fee_takes_no_native_coin(registry, brand, usdc, token_license):
    usdc.approve(registry, 10 * PRICE, sender=brand)
    for value in (1, PRICE, FEE):
        with ape.reverts(registry.WrongFee, expected=0, sent=value):
            publish(registry, brand, token_license, 1, value=value)


def test_a_free_token_license_moves_nothing(registry, model, brand, twin, usdc, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, fee=0, currency=usdc), sender=model)
    publish(registry, brand, 1, 2)  # no allowance needed
    assert registry.feeBalance(model, usdc) == 0 and usdc.balanceOf(registry) == 0
    with ape.reverts(registry.WrongFee, expected=0, sent=1):
        publish(registry, brand, 1, 1, value=1, start=2)


def test_the_model_withdraws_her_tokens(registry, model, brand, usdc, token_license):
    usdc.approve(registry, 10 * PRICE, sender=brand)
    publish(registry, brand, token_license, 4)
    tx = registry.withdrawFees(usdc, sender=model)
    assert tx.events.filter(registry.FeesWithdrawn) == [registry.FeesWithdrawn(model=model, currency=usdc, amount=4 * PRICE)]
    assert usdc.balanceOf(model) == 4 * PRICE and usdc.balanceOf(registry) == 0
    assert registry.feeBalance(model, usdc) == 0
    with ape.reverts(registry.NothingToWithdraw, model=model.address):
        registry.withdrawFees(usdc, sender=model)
    publish(registry, brand, token_license, 1, start=4)
    assert registry.feeBalance(model, usdc) == PRICE


def test_each_currency_is_credited_and_withdrawn_on_its_own(registry, model, brand, twin, usdc, chain, token_license):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp), sender=model)  # 2: native fee
    usdc.approve(registry, 10 * PRICE, sender=brand)
    publish(registry, brand, token_license, 2)
    with ape.reverts(registry.NothingToWithdraw, model=model.address):
        registry.withdrawFees(NATIVE, sender=model)  # nothing in the native coin yet
    publish(registry, brand, 2, 3, value=3 * FEE, start=2)
    assert (registry.feeBalance(model, usdc), registry.feeBalance(model, NATIVE)) == (2 * PRICE, 3 * FEE)
    tx = registry.withdrawFees(NATIVE, sender=model)
    assert tx.events == [registry.FeesWithdrawn(model=model, currency=NATIVE, amount=3 * FEE)]
    assert registry.feeBalance(model, usdc) == 2 * PRICE and usdc.balanceOf(registry) == 2 * PRICE
    registry.withdrawFees(usdc, sender=model)
    assert registry.feeBalance(model, usdc) == 0 and registry.balance == 0


def test_fees_are_credited_to_the_twins_owner_not_to_the_caller(registry, model, brand, other, usdc, token_license):
    usdc.approve(registry, 10 * PRICE, sender=brand)
    publish(registry, brand, token_license, 1)
    with ape.reverts(registry.NothingToWithdraw, model=other.address):
        registry.withdrawFees(usdc, sender=other)
    assert registry.feeBalance(brand, usdc) == 0 and registry.feeBalance(model, usdc) == PRICE


def test_a_licensee_pays_by_eip2612_permit(registry, model, brand, usdc, chain, token_license):
    """No approve transaction: the brand signs a permit, anyone submits it, then the brand publishes."""
    deadline = chain.pending_timestamp + DAY
    permit = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {"name": "Test USD Coin", "version": "1", "chainId": chain.chain_id, "verifyingContract": usdc.address},
        "message": {"owner": brand.address, "spender": registry.address, "value": PRICE, "nonce": 0, "deadline": deadline},
    }
    sig = Account.from_key(brand.private_key).sign_message(encode_typed_data(full_message=permit))
    usdc.permit(brand, registry, PRICE, deadline, sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big"), sender=model)
    publish(registry, brand, token_license, 1)
    assert registry.feeBalance(model, usdc) == PRICE and usdc.allowance(brand, registry) == 0


# ------------------------------------------------------------------ mandates: currency and training


def test_a_mandate_names_its_currency_and_whether_training_is_allowed(registry, model, agent, twin, usdc, chain):
    caps = make_caps(chain.pending_timestamp, fee=PRICE, currency=usdc, training=True)
    tx = registry.appointAgent(twin, agent, caps, sender=model)
    assert (tx.events[0].currency, tx.events[0].training, tx.events[0].minFee) == (usdc.address, True, PRICE)
    mandate = registry.getMandate(twin, agent)
    assert (mandate.currency, mandate.training) == (usdc.address, True)
    assert tuple(mandate) == caps


@pytest.mark.parametrize(
    "mandate_currency, license_currency, ok",
    [("usdc", "usdc", True), (NATIVE, NATIVE, True), ("usdc", NATIVE, False), (NATIVE, "usdc", False), ("usdc", "other", False)],
)
def test_an_agent_grants_only_in_its_mandates_currency(
    project, registry, model, agent, brand, twin, usdc, chain, accounts, mandate_currency, license_currency, ok
):
    other_token = project.TestUSDC.deploy(sender=accounts[8])
    pick = {"usdc": usdc.address, "other": other_token.address, NATIVE: NATIVE}
    registry.appointAgent(
        twin, agent, make_caps(chain.pending_timestamp, fee=PRICE, currency=pick[mandate_currency]), sender=model
    )
    terms = make_terms(twin, brand, chain.pending_timestamp, fee=PRICE, currency=pick[license_currency])
    if ok:
        registry.grantLicense(terms, sender=agent)
        assert registry.currencyOf(1) == pick[license_currency]
    else:
        with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address, cap="currency"):
            registry.grantLicense(terms, sender=agent)


def test_the_mandates_fee_floor_is_in_its_currency(registry, model, agent, brand, twin, usdc, chain):
    registry.appointAgent(twin, agent, make_caps(chain.pending_timestamp, fee=PRICE, currency=usdc), sender=model)
    with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address, cap="fee"):
        registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, fee=PRICE - 1, currency=usdc), sender=agent)
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, fee=PRICE, currency=usdc), sender=agent)


@pytest.mark.parametrize("allowed", [False, True])
def test_an_agent_allows_training_only_when_its_mandate_does(registry, model, agent, brand, twin, chain, allowed):
    registry.appointAgent(twin, agent, make_caps(chain.pending_timestamp, training=allowed), sender=model)
    terms = make_terms(twin, brand, chain.pending_timestamp, training=True)
    if allowed:
        registry.grantLicense(terms, sender=agent)
        assert registry.getLicense(1).flags == 1
    else:
        with ape.reverts(registry.MandateExceeded, twinId=twin, agent=agent.address, cap="training"):
            registry.grantLicense(terms, sender=agent)
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, training=False), sender=agent)  # never capped


# ------------------------------------------------------------------ tokens that misbehave


@pytest.fixture
def hostile(project, accounts):
    return project.HostileToken.deploy(sender=accounts[8])


@pytest.fixture
def hostile_license(registry, model, brand, twin, hostile, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, fee=PRICE, currency=hostile), sender=model)
    hostile.mint(brand, 100 * USDC, sender=brand)
    hostile.approve(registry, 100 * USDC, sender=brand)
    return 1


@pytest.mark.parametrize("mode", ["ReturnsFalse", "FeeOnTransfer", "Reverts", "Lies"])
def test_a_token_that_does_not_deliver_the_whole_fee_is_refused(registry, model, brand, hostile, hostile_license, mode):
    """Fees credited must equal tokens held: a false return, a transfer fee, a revert or a lie refuse the batch."""
    hostile.setMode(HOSTILE[mode], sender=brand)
    with ape.reverts(registry.TokenTransferFailed, currency=hostile.address, **{"from": brand.address}, amount=2 * PRICE):
        publish(registry, brand, hostile_license, 2)
    assert registry.getLicense(hostile_license).uses == 0
    assert registry.feeBalance(model, hostile) == 0 and hostile.balanceOf(registry) == 0


def test_a_token_without_a_return_value_is_accepted(registry, model, brand, hostile, hostile_license):
    """Like USDT: transferFrom returns nothing; the balance moved, so the fee is credited."""
    hostile.setMode(HOSTILE["ReturnsNothing"], sender=brand)
    publish(registry, brand, hostile_license, 2)
    assert registry.feeBalance(model, hostile) == 2 * PRICE == hostile.balanceOf(registry)
    registry.withdrawFees(hostile, sender=model)
    assert hostile.balanceOf(model) == 2 * PRICE and registry.feeBalance(model, hostile) == 0


@pytest.mark.parametrize("mode", ["ReturnsFalse", "Reverts"])
def test_a_model_keeps_her_credit_when_the_token_refuses_to_pay_out(registry, model, brand, hostile, hostile_license, mode):
    publish(registry, brand, hostile_license, 3)
    hostile.setMode(HOSTILE[mode], sender=brand)
    with ape.reverts(registry.TokenTransferFailed, currency=hostile.address, **{"from": registry.address}, amount=3 * PRICE):
        registry.withdrawFees(hostile, sender=model)
    assert registry.feeBalance(model, hostile) == 3 * PRICE
    hostile.setMode(HOSTILE["Honest"], sender=brand)
    tx = registry.withdrawFees(hostile, sender=model)
    assert tx.events.filter(registry.FeesWithdrawn)[0].amount == 3 * PRICE
    assert hostile.balanceOf(model) == 3 * PRICE


def test_a_token_that_turns_hostile_after_the_grant_credits_nothing_it_did_not_deliver(
    registry, model, brand, twin, hostile, chain
):
    """A token that turns hostile after the grant still cannot credit fees it did not deliver."""
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, fee=PRICE, currency=hostile), sender=model)
    hostile.mint(brand, PRICE, sender=brand)
    hostile.approve(registry, PRICE, sender=brand)
    hostile.setMode(HOSTILE["Lies"], sender=brand)
    with ape.reverts(registry.TokenTransferFailed):
        publish(registry, brand, 1, 1)
    hostile.setMode(HOSTILE["Honest"], sender=brand)
    publish(registry, brand, 1, 1)
    assert registry.feeBalance(model, hostile) == PRICE == hostile.balanceOf(registry)


def test_currencies_of_lists_a_models_fee_tokens_in_the_order_first_used(
    project, registry, model, agent, brand, other, twin, usdc, chain, accounts
):
    """currenciesOf(model)[n - 1] is the token of every license of hers with currencyId n (currencyOf agrees); the
    native coin is no entry; a token is numbered once, by a grant or a mandate, for all her twins."""
    euro = project.TestUSDC.deploy(sender=accounts[8])
    assert registry.currenciesOf(model) == [] and registry.currenciesOf(other) == []
    now = chain.pending_timestamp
    registry.grantLicense(make_terms(twin, brand, now), sender=model)  # native coin: no token
    assert registry.currenciesOf(model) == []
    registry.grantLicense(make_terms(twin, brand, now, fee=PRICE, currency=usdc), sender=model)
    registry.grantLicense(make_terms(twin, brand, now, fee=PRICE, currency=usdc), sender=model)
    assert registry.currenciesOf(model) == [usdc.address]
    registry.appointAgent(twin, agent, make_caps(now, fee=PRICE, currency=euro), sender=model)  # numbered by the mandate
    assert registry.currenciesOf(model) == [usdc.address, euro.address]
    # an agent's grant numbers the token in the model's list, not the agent's
    registry.grantLicense(make_terms(twin, brand, now, fee=PRICE, currency=euro), sender=agent)
    registry.registerTwin(b"\x55" * 32, 1, b"\x66" * 32, "ipfs://second", sender=model)
    registry.grantLicense(make_terms(2, brand, now, fee=PRICE, currency=usdc), sender=model)
    assert registry.currenciesOf(model) == [usdc.address, euro.address]
    assert registry.currenciesOf(agent) == [] and registry.currenciesOf(brand) == []
    tokens = registry.currenciesOf(model)
    for lid, expected in ((1, NATIVE), (2, usdc.address), (3, usdc.address), (4, euro.address), (5, usdc.address)):
        lic = registry.getLicense(lid)
        assert registry.currencyOf(lid) == expected
        assert (tokens[lic.currencyId - 1] if lic.currencyId else NATIVE) == expected
    # another model's tokens are numbered on their own
    registry.registerTwin(b"\x77" * 32, 1, b"\x88" * 32, "ipfs://hers", sender=other)
    registry.grantLicense(make_terms(3, brand, now, fee=PRICE, currency=euro), sender=other)
    assert registry.currenciesOf(other) == [euro.address] and registry.getLicense(6).currencyId == 1
