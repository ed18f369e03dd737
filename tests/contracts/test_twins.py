import ape

from conftest import DAY


def test_registering_a_twin_records_its_owner_and_emits_the_root(registry, model):
    tx = registry.registerTwin(b"\x11" * 32, 3, b"\x22" * 32, "ipfs://meta", sender=model)
    assert tx.events == [
        registry.TwinRegistered(
            twinId=1, owner=model, assetRoot=b"\x11" * 32, assetCount=3, metadataHash=b"\x22" * 32, metadataURI="ipfs://meta"
        )
    ]
    assert registry.getTwin(1).owner == model
    assert registry.getTwin(1).withdrawAt == 0
    assert registry.counts() == (1, 0, 1)


def test_twin_ids_count_up_from_one(registry, model, other):
    registry.registerTwin(b"\x11" * 32, 1, b"\x00" * 32, "", sender=model)
    registry.registerTwin(b"\x12" * 32, 1, b"\x00" * 32, "", sender=other)
    assert registry.getTwin(2).owner == other
    assert registry.counts()[0] == 2


def test_a_twin_needs_a_root_and_assets(registry, model):
    with ape.reverts(registry.EmptyAssets):
        registry.registerTwin(b"\x00" * 32, 3, b"\x22" * 32, "", sender=model)
    with ape.reverts(registry.EmptyAssets):
        registry.registerTwin(b"\x11" * 32, 0, b"\x22" * 32, "", sender=model)


def test_unknown_twins_are_refused(registry):
    with ape.reverts(registry.UnknownTwin, twinId=42):
        registry.getTwin(42)


def test_the_owner_adds_assets_under_a_new_root(registry, model, twin):
    tx = registry.addAssets(twin, b"\x44" * 32, 5, sender=model)
    assert tx.events == [registry.TwinAssetsAdded(twinId=twin, assetRoot=b"\x44" * 32, assetCount=5)]


def test_only_the_owner_adds_assets(registry, other, twin):
    with ape.reverts(registry.NotTwinOwner, twinId=twin, account=other.address):
        registry.addAssets(twin, b"\x44" * 32, 5, sender=other)


def test_adding_assets_needs_a_root(registry, model, twin):
    with ape.reverts(registry.EmptyAssets):
        registry.addAssets(twin, b"\x00" * 32, 5, sender=model)


def test_withdrawing_now_takes_effect_at_the_current_block(registry, model, twin, chain):
    tx = registry.withdrawTwin(twin, 0, sender=model)
    at = chain.blocks[tx.block_number].timestamp
    assert tx.events == [registry.TwinWithdrawn(twinId=twin, effectiveAt=at)]
    assert registry.getTwin(twin).withdrawAt == at


def test_a_withdrawal_cannot_be_backdated(registry, model, twin, chain):
    past = chain.pending_timestamp - 100
    with ape.reverts(registry.EffectiveTimeInPast):
        registry.withdrawTwin(twin, past, sender=model)


def test_a_scheduled_withdrawal_can_be_brought_forward_but_not_pushed_back(registry, model, twin, chain):
    later = chain.pending_timestamp + 10 * DAY
    registry.withdrawTwin(twin, later, sender=model)
    with ape.reverts(registry.TwinWithdrawnAt, twinId=twin, withdrawAt=later):
        registry.withdrawTwin(twin, later + DAY, sender=model)
    sooner = chain.pending_timestamp + DAY
    registry.withdrawTwin(twin, sooner, sender=model)
    assert registry.getTwin(twin).withdrawAt == sooner


def test_a_withdrawn_twin_stays_withdrawn(registry, model, twin):
    registry.withdrawTwin(twin, 0, sender=model)
    with ape.reverts(registry.TwinWithdrawnAt):
        registry.withdrawTwin(twin, 0, sender=model)
    with ape.reverts(registry.TwinWithdrawnAt):
        registry.addAssets(twin, b"\x44" * 32, 5, sender=model)


def test_only_the_owner_withdraws(registry, other, twin):
    with ape.reverts(registry.NotTwinOwner, twinId=twin, account=other.address):
        registry.withdrawTwin(twin, 0, sender=other)


def test_version_is_exposed(registry):
    assert registry.version() == "2.3.0"
