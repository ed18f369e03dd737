"""Publications: the licensee records images; the contract refuses what the license does not cover."""

import ape
import pytest

from eth_utils import keccak

from conftest import DAY, FEE, IMPRINT_BYTES, NATIVE, code, content, imprint, make_terms
from consentry import vocab

SOCIAL, PRINT = vocab.CHANNELS.index("social"), vocab.CHANNELS.index("print")
OUTFIT = vocab.transform_mask(["outfit"])
PUBLISHED_TOPIC = "0x" + keccak(text="Published(bytes32,bytes32,bytes32)").hex()


def publish(registry, brand, lic, n=1, *, channel=SOCIAL, where="FR", transforms=OUTFIT, value=None, start=0, disclosures=0):
    hashes = [content(start + i) for i in range(n)]
    prints = b"".join(imprint(start + i) for i in range(n))
    return registry.publish(
        lic,
        channel,
        code(where),
        transforms,
        disclosures,
        hashes,
        prints,
        value=FEE * n if value is None else value,
        sender=brand,
    )


def test_a_publication_is_recorded_and_findable_by_content_hash(registry, brand, license_id, chain):
    tx = publish(registry, brand, license_id, 3)
    # the batch header, then one Published log per image
    assert tx.events == [
        registry.PublicationsRecorded(
            licenseId=license_id, channel=SOCIAL, territory=code("FR"), transforms=OUTFIT, disclosures=0, firstUse=1, count=3
        ),
        *[
            registry.Published(contentHash=content(i), imprint=imprint(i)[:32], signature=imprint(i)[32:] + bytes(2))
            for i in range(3)
        ],
    ]
    w3 = chain.provider.web3
    logs = w3.eth.get_logs(
        {"address": registry.address, "topics": [PUBLISHED_TOPIC, "0x" + content(1).hex()], "fromBlock": 0, "toBlock": "latest"}
    )
    assert len(logs) == 1
    assert logs[0]["transactionHash"] == bytes.fromhex(tx.txn_hash.removeprefix("0x"))
    assert registry.getLicense(license_id).uses == 3


def test_published_logs_carry_the_content_hash_as_topic_and_the_imprint_as_two_words(registry, brand, license_id):
    """topic0 = keccak256("Published(bytes32,bytes32,bytes32)"), topic1 = content hash; data word 1 = the
    imprint's bytes [0:32) (pixel prefix, central pHash, the signature's first 8 bytes), word 2 = its bytes
    [32:62) and two zero bytes; a client rebuilds the 38-byte signature as word1[24:32] + word2[0:30]."""
    tx = publish(registry, brand, license_id, 2, start=5)
    for i, log in zip((5, 6), tx.logs[1:]):
        assert [bytes(t) for t in log["topics"]] == [bytes.fromhex(PUBLISHED_TOPIC[2:]), content(i)]
        data = bytes(log["data"])
        assert data[:32] == imprint(i)[:32] and data[32:] == imprint(i)[32:62] + bytes(2) and len(data) == 64
        assert data[24:62] == imprint(i)[24:]  # the whole 38-byte signature
    assert len(tx.logs) == 3


def test_a_content_hash_alone_no_longer_matches_the_first_topic(registry, brand, license_id, chain):
    """Published is not anonymous any more: clients filter on [Published, contentHash]."""
    photo = "0x" + keccak(b"photo.jpg").hex()
    registry.publish(license_id, SOCIAL, code("FR"), OUTFIT, 0, [photo], imprint(0), value=FEE, sender=brand)
    w3 = chain.provider.web3
    assert w3.eth.get_logs({"address": registry.address, "topics": [photo], "fromBlock": 0}) == []
    (log,) = w3.eth.get_logs({"address": registry.address, "topics": [None, photo], "fromBlock": 0})
    assert "0x" + log["topics"][0].hex().removeprefix("0x") == PUBLISHED_TOPIC


def test_imprints_are_62_bytes(registry):
    assert registry.IMPRINT_BYTES() == IMPRINT_BYTES == len(imprint(0)) == 62


def test_uses_count_across_batches(registry, brand, license_id):
    publish(registry, brand, license_id, 2)
    tx = publish(registry, brand, license_id, 4, start=2)
    assert tx.events[0].firstUse == 3
    assert registry.getLicense(license_id).uses == 6


def test_fees_are_credited_to_the_model(registry, model, brand, license_id):
    publish(registry, brand, license_id, 4)
    assert registry.feeBalance(model, NATIVE) == 4 * FEE
    assert registry.balance == 4 * FEE


def test_the_model_withdraws_exactly_the_fees_paid(registry, model, brand, license_id):
    publish(registry, brand, license_id, 3)
    before = model.balance
    tx = registry.withdrawFees(NATIVE, sender=model)
    assert tx.events == [registry.FeesWithdrawn(model=model, currency=NATIVE, amount=3 * FEE)]
    assert model.balance == before + 3 * FEE - tx.total_fees_paid
    assert registry.feeBalance(model, NATIVE) == 0
    assert registry.balance == 0
    with ape.reverts(registry.NothingToWithdraw, model=model.address):
        registry.withdrawFees(NATIVE, sender=model)
    publish(registry, brand, license_id, 1, start=3)
    assert registry.feeBalance(model, NATIVE) == FEE


def test_a_reentrant_model_cannot_withdraw_twice(project, registry, brand, chain):
    attacker = project.ReentrantModel.deploy(registry, sender=brand)
    attacker.register(b"\x77" * 32, sender=brand)
    attacker.grant(make_terms(1, brand, chain.pending_timestamp), sender=brand)
    publish(registry, brand, 1, 5)
    attacker.withdraw(sender=brand)
    assert attacker.received() == 5 * FEE
    assert not attacker.reentered()
    assert registry.balance == 0


def test_a_model_that_cannot_receive_keeps_its_credit(project, registry, brand, chain):
    model = project.ReentrantModel.deploy(registry, sender=brand)
    model.register(b"\x78" * 32, sender=brand)
    model.grant(make_terms(1, brand, chain.pending_timestamp), sender=brand)
    publish(registry, brand, 1, 2)
    model.refusePayments(True, sender=brand)
    with ape.reverts(registry.TransferFailed, model=model.address, amount=2 * FEE):
        model.withdraw(sender=brand)
    assert registry.feeBalance(model, NATIVE) == 2 * FEE
    model.refusePayments(False, sender=brand)
    model.withdraw(sender=brand)
    assert model.received() == 2 * FEE and registry.feeBalance(model, NATIVE) == 0


def test_only_the_licensee_publishes(registry, other, license_id):
    with ape.reverts(registry.NotLicensee, licenseId=license_id, account=other.address):
        publish(registry, other, license_id)


def test_unknown_license(registry, brand):
    with ape.reverts(registry.UnknownLicense, licenseId=9):
        publish(registry, brand, 9)


def test_publishing_before_the_window_is_refused(registry, model, brand, twin, chain):
    start = chain.pending_timestamp + 5 * DAY
    registry.grantLicense(make_terms(twin, brand, start), sender=model)
    with ape.reverts(registry.LicenseNotYetValid, licenseId=1, validFrom=start):
        publish(registry, brand, 1)


def test_publishing_after_expiry_is_refused(registry, brand, license_id, chain):
    until = registry.getLicense(license_id).validUntil
    chain.pending_timestamp = until
    with ape.reverts(registry.LicenseExpired, licenseId=license_id, validUntil=until):
        publish(registry, brand, license_id)


def test_revocation_is_forward_only(registry, model, brand, license_id, chain):
    """Publications before the effective time stay recorded; later ones are refused."""
    at = chain.pending_timestamp + DAY
    publish(registry, brand, license_id, 2)
    registry.revokeLicense(license_id, at, sender=model)
    publish(registry, brand, license_id, 1, start=2)  # still inside the notice period
    chain.pending_timestamp = at
    with ape.reverts(registry.LicenseRevokedAt, licenseId=license_id, effectiveAt=at):
        publish(registry, brand, license_id, 1, start=3)
    assert registry.getLicense(license_id).uses == 3
    assert registry.isLicenseValid(license_id, at - 1)


def test_publishing_for_a_withdrawn_twin_is_refused(registry, model, brand, license_id, twin, chain):
    registry.withdrawTwin(twin, 0, sender=model)
    with ape.reverts(registry.TwinWithdrawnAt, twinId=twin):
        publish(registry, brand, license_id)
    assert not registry.isLicenseValid(license_id, chain.pending_timestamp)


def test_a_channel_outside_the_license_is_refused(registry, brand, license_id):
    with ape.reverts(registry.ChannelNotAllowed, licenseId=license_id, channel=PRINT):
        publish(registry, brand, license_id, channel=PRINT)


@pytest.mark.parametrize("where, ok", [("FR", True), ("DE", True), ("US", True), ("GB", False), ("JP", False)])
def test_territories_cover_eu_members_and_named_countries(registry, brand, license_id, where, ok):
    """The license covers EU and US."""
    if ok:
        publish(registry, brand, license_id, where=where)
    else:
        with ape.reverts(registry.TerritoryNotAllowed, licenseId=license_id, territory=code(where)):
            publish(registry, brand, license_id, where=where)


def test_worldwide_covers_every_country_and_both_regions(registry, model, brand, twin, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, where=("WW",)), sender=model)
    publish(registry, brand, 1, where="JP")
    publish(registry, brand, 1, where="EU", start=1)
    tx = publish(registry, brand, 1, where="WW", start=2)
    assert tx.events[0].territory == code("WW")


@pytest.mark.parametrize(
    "licensed, where, ok",
    [
        (("EU", "US"), "EU", True),  # a post shown to the whole EU, under an EU license
        (("EU", "US"), "WW", False),  # a worldwide audience is wider than EU + US
        (("FR", "DE"), "EU", False),  # some member states are not the whole EU
        (("US",), "EU", False),
        (("WW",), "WW", True),
    ],
)
def test_a_region_is_allowed_only_when_the_license_covers_all_of_it(registry, model, brand, twin, chain, licensed, where, ok):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, where=licensed), sender=model)
    if ok:
        publish(registry, brand, 1, where=where)
    else:
        with ape.reverts(registry.TerritoryNotAllowed, licenseId=1, territory=code(where)):
            publish(registry, brand, 1, where=where)
    reasons = registry.checkPublication(1, brand, 0, code(where), OUTFIT, 1, chain.pending_timestamp)
    assert (reasons == 0) == ok


def test_a_transformation_outside_the_license_is_refused(registry, brand, license_id):
    face_age = vocab.transform_mask(["face", "age", "outfit"])
    with ape.reverts(registry.TransformationNotAllowed, licenseId=license_id, disallowed=vocab.transform_mask(["face", "age"])):
        publish(registry, brand, license_id, transforms=face_age)


def test_uses_past_the_maximum_are_refused(registry, brand, license_id):
    publish(registry, brand, license_id, 8)
    with ape.reverts(registry.UsesExhausted, licenseId=license_id, maxUses=10, used=8):
        publish(registry, brand, license_id, 3, start=8)
    publish(registry, brand, license_id, 2, start=8)
    assert registry.getLicense(license_id).uses == 10


def test_unlimited_uses_when_max_is_zero(registry, model, brand, twin, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, max_uses=0), sender=model)
    publish(registry, brand, 1, 30)
    assert registry.getLicense(1).uses == 30


@pytest.mark.parametrize("value", [0, FEE - 1, FEE + 1, 2 * FEE])
def test_the_exact_fee_is_required(registry, brand, license_id, value):
    with ape.reverts(registry.WrongFee, expected=FEE, sent=value):
        publish(registry, brand, license_id, 1, value=value)


def test_a_free_license_takes_no_value(registry, model, brand, twin, chain):
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, fee=0), sender=model)
    publish(registry, brand, 1, 2, value=0)
    assert registry.feeBalance(model, NATIVE) == 0


def test_malformed_batches_are_refused(registry, brand, license_id):
    with ape.reverts(registry.InvalidBatch, contentHashes=0, imprintBytes=0):
        registry.publish(license_id, SOCIAL, code("FR"), OUTFIT, 0, [], b"", sender=brand)
    with ape.reverts(registry.InvalidBatch, contentHashes=2, imprintBytes=62):
        registry.publish(
            license_id, SOCIAL, code("FR"), OUTFIT, 0, [content(0), content(1)], imprint(0), value=2 * FEE, sender=brand
        )
    # 2.2's 24 bytes of word 1 alone, one imprint and a stray 8, 2.2's 56-byte imprint, one byte off either way
    for prints in (imprint(0)[:24], imprint(0) + imprint(1)[:8], imprint(0)[:56], imprint(0)[:61], imprint(0) + bytes(2)):
        with ape.reverts(registry.InvalidBatch, contentHashes=1, imprintBytes=len(prints)):
            registry.publish(license_id, SOCIAL, code("FR"), OUTFIT, 0, [content(0)], prints, value=FEE, sender=brand)
    assert registry.getLicense(license_id).uses == 0


def test_check_publication_names_every_reason(registry, model, brand, other, license_id, chain):
    t = chain.pending_timestamp
    assert registry.checkPublication(license_id, brand, SOCIAL, code("FR"), OUTFIT, 1, t) == 0
    reasons = registry.checkPublication(license_id, other, PRINT, code("JP"), vocab.transform_mask(["face"]), 11, t)
    assert reasons == 2 | 64 | 128 | 256 | 512
    assert registry.checkPublication(99, brand, SOCIAL, code("FR"), 0, 1, t) == 1
    until = registry.getLicense(license_id).validUntil
    assert registry.checkPublication(license_id, brand, SOCIAL, code("FR"), 0, 1, until) == 8
    assert registry.checkPublication(license_id, brand, SOCIAL, code("FR"), 0, 1, 0) == 4
    registry.revokeLicense(license_id, 0, sender=model)
    assert registry.checkPublication(license_id, brand, SOCIAL, code("FR"), 0, 1, until) == 16


@pytest.mark.parametrize("bits", [1, 2, 4, 7])
def test_a_batch_records_the_disclosures_its_images_carried(registry, brand, license_id, bits):
    tx = publish(registry, brand, license_id, 2, disclosures=bits)
    assert tx.events[0].disclosures == bits


@pytest.mark.parametrize("bits", [8, 0x80, 0xFF])
def test_unknown_disclosure_bits_are_refused(registry, brand, license_id, bits):
    with ape.reverts(registry.InvalidDisclosures, disclosures=bits):
        publish(registry, brand, license_id, disclosures=bits)
    assert registry.getLicense(license_id).uses == 0
