"""Attestations: anyone (an agency, a union, the capture studio) vouches that a twin's owner is the person
its assets depict, and may withdraw that."""

import ape
import pytest

from conftest import DAY

STATEMENT = b"\x5a" * 32


@pytest.fixture
def attester(accounts):
    return accounts[4]


def test_anyone_attests_a_twin(registry, model, attester, twin, chain):
    tx = registry.attestTwin(twin, STATEMENT, sender=attester)
    assert tx.events == [registry.TwinAttested(twinId=twin, attester=attester, owner=model, statementHash=STATEMENT)]
    assert registry.attestedAt(twin, attester) == chain.blocks[tx.block_number].timestamp


def test_an_attestation_needs_no_statement(registry, attester, twin):
    tx = registry.attestTwin(twin, b"\x00" * 32, sender=attester)
    assert tx.events[0].statementHash == b"\x00" * 32
    assert registry.attestedAt(twin, attester) > 0


def test_no_attestation_reads_as_zero(registry, model, attester, twin):
    assert registry.attestedAt(twin, attester) == 0
    assert registry.attestedAt(99, attester) == 0
    registry.attestTwin(twin, STATEMENT, sender=attester)
    assert registry.attestedAt(twin, model) == 0  # per attester


def test_an_attester_attests_a_twin_once(registry, attester, twin):
    registry.attestTwin(twin, STATEMENT, sender=attester)
    with ape.reverts(registry.AlreadyAttested, twinId=twin, attester=attester.address):
        registry.attestTwin(twin, b"\x01" * 32, sender=attester)


def test_attestations_are_per_twin_and_per_attester(registry, model, other, attester, twin):
    registry.registerTwin(b"\x66" * 32, 1, b"\x00" * 32, "", sender=other)
    registry.attestTwin(twin, STATEMENT, sender=attester)
    registry.attestTwin(2, STATEMENT, sender=attester)
    registry.attestTwin(twin, STATEMENT, sender=other)
    # a model may attest her own twin: verifiers decide whom they trust
    tx = registry.attestTwin(twin, STATEMENT, sender=model)
    assert tx.events[0].owner == model.address
    assert all(registry.attestedAt(t, a) > 0 for t, a in [(twin, attester), (2, attester), (twin, other)])
    assert registry.attestedAt(2, other) == 0


def test_an_unknown_twin_cannot_be_attested(registry, attester):
    with ape.reverts(registry.UnknownTwin, twinId=7):
        registry.attestTwin(7, STATEMENT, sender=attester)


def test_a_withdrawn_twin_cannot_be_attested(registry, model, attester, twin, chain):
    """Vouching for a twin its owner has withdrawn would lend trust to a record that no longer consents."""
    registry.withdrawTwin(twin, 0, sender=model)
    withdraw_at = registry.getTwin(twin).withdrawAt
    with ape.reverts(registry.TwinWithdrawnAt, twinId=twin, withdrawAt=withdraw_at):
        registry.attestTwin(twin, STATEMENT, sender=attester)
    assert registry.attestedAt(twin, attester) == 0


def test_an_attester_revokes_its_attestation(registry, attester, twin):
    registry.attestTwin(twin, STATEMENT, sender=attester)
    tx = registry.revokeAttestation(twin, sender=attester)
    assert tx.events == [registry.TwinAttestationRevoked(twinId=twin, attester=attester)]
    assert registry.attestedAt(twin, attester) == 0


def test_an_attestation_cannot_be_revoked_twice(registry, attester, twin):
    registry.attestTwin(twin, STATEMENT, sender=attester)
    registry.revokeAttestation(twin, sender=attester)
    with ape.reverts(registry.NotAttested, twinId=twin, attester=attester.address):
        registry.revokeAttestation(twin, sender=attester)


def test_only_the_attester_revokes_its_attestation(registry, model, attester, twin):
    registry.attestTwin(twin, STATEMENT, sender=attester)
    with ape.reverts(registry.NotAttested, twinId=twin, attester=model.address):
        registry.revokeAttestation(twin, sender=model)  # not even the twin's owner
    assert registry.attestedAt(twin, attester) > 0
    with ape.reverts(registry.NotAttested, twinId=8, attester=attester.address):
        registry.revokeAttestation(8, sender=attester)


def test_a_revoked_attestation_can_be_renewed_with_a_new_time(registry, attester, twin, chain):
    first = registry.attestTwin(twin, STATEMENT, sender=attester)
    registry.revokeAttestation(twin, sender=attester)
    chain.pending_timestamp += DAY
    again = registry.attestTwin(twin, STATEMENT, sender=attester)
    assert registry.attestedAt(twin, attester) == chain.blocks[again.block_number].timestamp
    assert registry.attestedAt(twin, attester) > chain.blocks[first.block_number].timestamp
