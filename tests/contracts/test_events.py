"""The registry's logs: counts().events equals the number of logs it emitted, so an indexer can prove it saw
every one; and a log filter on an event's signature returns only real events of that type."""

import ape
from eth_utils import keccak

from conftest import DAY, FEE, NATIVE, code, content, imprint, make_caps, make_consent, make_terms, registry_logs, sign_consent
from conftest import sign_offer
from consentry import vocab

SOCIAL = vocab.CHANNELS.index("social")
OUTFIT = vocab.transform_mask(["outfit"])


def events(registry):
    return registry.counts()[2]


def test_a_new_registry_has_emitted_nothing(registry, chain):
    assert registry.counts() == (0, 0, 0)
    assert registry_logs(chain, registry) == []


def test_the_event_counter_equals_the_registrys_logs_after_every_operation(registry, model, brand, agent, other, chain):
    now = chain.pending_timestamp
    offer = make_terms(1, brand, now)
    deadline = now + DAY
    sig = sign_offer(model, offer, 0, deadline, chain.chain_id, registry)
    altered = make_terms(1, brand, now, transforms=("outfit", "face"))
    consent = make_consent(altered, agent, nonce=2, deadline=deadline)
    consent_sig = sign_consent(model, consent, chain.chain_id, registry)
    operations = [  # (what, logs it emits, how)
        ("register a twin", 1, lambda: registry.registerTwin(b"\x11" * 32, 3, b"\x22" * 32, "ipfs://m", sender=model)),
        ("add assets", 1, lambda: registry.addAssets(1, b"\x44" * 32, 2, sender=model)),
        ("appoint an agent", 1, lambda: registry.appointAgent(1, agent, make_caps(now), sender=model)),
        ("grant as the model", 1, lambda: registry.grantLicense(make_terms(1, brand, now), sender=model)),
        ("grant as an agent", 1, lambda: registry.grantLicense(make_terms(1, brand, now), sender=agent)),
        ("grant by signed offer", 1, lambda: registry.grantLicenseWithSignature(offer, 0, deadline, sig, sender=brand)),
        ("cancel an offer", 1, lambda: registry.cancelOffer(1, sender=model)),
        (
            "grant with the model's consent",
            1,
            lambda: registry.grantLicenseWithConsent(altered, consent, consent_sig, sender=agent),
        ),
        ("suspend a license", 1, lambda: registry.suspendLicense(4, sender=model)),
        ("resume a license", 1, lambda: registry.resumeLicense(4, sender=model)),
        (
            "publish one image",
            2,
            lambda: registry.publish(1, SOCIAL, code("FR"), OUTFIT, 0, [content(0)], imprint(0), value=FEE, sender=brand),
        ),
        (
            "publish four images",
            5,
            lambda: registry.publish(
                2,
                SOCIAL,
                code("FR"),
                OUTFIT,
                0,
                [content(i) for i in range(1, 5)],
                b"".join(imprint(i) for i in range(1, 5)),
                value=4 * FEE,
                sender=brand,
            ),
        ),
        ("revoke as the model", 1, lambda: registry.revokeLicense(1, 0, sender=model)),
        ("revoke as the granting agent", 1, lambda: registry.revokeLicense(2, 0, sender=agent)),
        ("withdraw fees", 1, lambda: registry.withdrawFees(NATIVE, sender=model)),
        ("attest", 1, lambda: registry.attestTwin(1, b"\x5a" * 32, sender=other)),
        ("revoke an attestation", 1, lambda: registry.revokeAttestation(1, sender=other)),
        ("revoke an agent", 1, lambda: registry.revokeAgent(1, agent, sender=model)),
        ("withdraw the twin", 1, lambda: registry.withdrawTwin(1, 0, sender=model)),
    ]
    total = 0
    for what, emitted, operation in operations:
        tx = operation()
        total += emitted
        assert len(tx.logs) == emitted, what
        assert events(registry) == total == len(registry_logs(chain, registry)), what
    assert registry.counts() == (1, 4, 24)


def test_refused_operations_count_nothing(registry, model, brand, other, twin, license_id, chain):
    before = events(registry)
    with ape.reverts(registry.NotTwinOwner):
        registry.addAssets(twin, b"\x44" * 32, 2, sender=other)
    with ape.reverts(registry.WrongFee):
        registry.publish(license_id, SOCIAL, code("FR"), OUTFIT, 0, [content(0)], imprint(0), value=0, sender=brand)
    with ape.reverts(registry.NotAttested):
        registry.revokeAttestation(twin, sender=other)
    with ape.reverts(registry.NothingToWithdraw):
        registry.withdrawFees(NATIVE, sender=model)
    with ape.reverts(registry.LicenseNotSuspended):
        registry.resumeLicense(license_id, sender=model)
    assert events(registry) == before == len(registry_logs(chain, registry)) == 2


def test_logs_emitted_inside_another_contracts_call_are_counted(project, registry, brand, chain):
    holder = project.ReentrantModel.deploy(registry, sender=brand)
    holder.register(b"\x77" * 32, sender=brand)
    holder.grant(make_terms(1, brand, chain.pending_timestamp), sender=brand)
    registry.publish(
        1, SOCIAL, code("FR"), OUTFIT, 0, [content(0), content(1)], imprint(0) + imprint(1), value=2 * FEE, sender=brand
    )
    holder.withdraw(sender=brand)  # its receive() re-enters withdrawFees, which reverts inside a try
    assert events(registry) == 1 + 1 + 3 + 1 == len(registry_logs(chain, registry))


def test_a_filter_on_an_event_signature_returns_only_real_events(registry, model, brand, twin, chain):
    """Regression: an anonymous Published made topic0 the caller's content hash, so a brand could publish an
    image 'hashing' to keccak256("LicenseGranted(...)") and plant fake events in an indexer's filter."""
    abis = list(registry.contract_type.events)
    topics = {abi.name: keccak(text=abi.selector) for abi in abis}
    assert len(topics) >= 13 and "Published" in topics
    registry.grantLicense(make_terms(twin, brand, chain.pending_timestamp, max_uses=0), sender=model)
    forged = list(topics.values())
    registry.publish(
        1,
        SOCIAL,
        code("FR"),
        OUTFIT,
        0,
        forged,
        b"".join(imprint(i) for i in range(len(forged))),
        value=FEE * len(forged),
        sender=brand,
    )
    real = {"TwinRegistered": 1, "LicenseGranted": 1, "PublicationsRecorded": 1, "Published": len(forged)}
    w3 = chain.provider.web3
    for abi in abis:
        logs = w3.eth.get_logs({"address": registry.address, "topics": ["0x" + topics[abi.name].hex()], "fromBlock": 0})
        assert len(logs) == real.get(abi.name, 0), abi.name
        indexed = sum(1 for i in abi.inputs if i.indexed)
        for log in logs:
            assert len(log["topics"]) == 1 + indexed, abi.name
    # each forged hash is still findable, as the content hash it is, in the second topic
    for topic in forged:
        logs = w3.eth.get_logs(
            {"address": registry.address, "fromBlock": 0, "topics": ["0x" + topics["Published"].hex(), "0x" + topic.hex()]}
        )
        assert len(logs) == 1
