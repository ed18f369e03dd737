"""Fixtures for the registry's Ape tests (Ape's local network, in-process py-evm)."""

import hashlib
import sys
from pathlib import Path

import pytest

# The product's own encodings (stdlib-only modules) are what the contract must agree with.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from consentry import vocab  # noqa: E402

DAY = 86400
FEE = 10**15  # 0.001 ether
IMPRINT_BYTES = 56  # pixel-hash prefix 16, central pHash 8, second-stage signature 32


def territories(*names):
    return vocab.pack_territories(names)


def code(name):
    return vocab.territory_code(name)


@pytest.fixture
def model(accounts):
    return accounts[0]


@pytest.fixture
def brand(accounts):
    return accounts[1]


@pytest.fixture
def agent(accounts):
    return accounts[2]


@pytest.fixture
def other(accounts):
    return accounts[3]


@pytest.fixture
def registry(project, accounts):
    return project.ConsentRegistry.deploy(sender=accounts[9])


@pytest.fixture
def now(chain):
    return lambda: chain.pending_timestamp


@pytest.fixture
def twin(registry, model):
    registry.registerTwin(b"\x11" * 32, 3, b"\x22" * 32, "ipfs://meta", sender=model)
    return registry.counts()[0]


def make_terms(
    twin_id,
    licensee,
    start,
    *,
    channels=("social", "ecommerce"),
    transforms=("outfit", "background"),
    where=("EU", "US"),
    days=30,
    max_uses=10,
    fee=FEE,
    terms_hash=b"\x33" * 32,
    valid_from=None,
):
    return (
        twin_id,
        licensee.address if hasattr(licensee, "address") else licensee,
        vocab.channel_mask(channels),
        vocab.transform_mask(transforms),
        territories(*where),
        start if valid_from is None else valid_from,
        start + days * DAY,
        max_uses,
        fee,
        terms_hash,
    )


def make_caps(
    start,
    *,
    days=90,
    max_days=60,
    channels=("social", "ecommerce"),
    transforms=("outfit", "background"),
    fee=FEE,
    where=("WW",),
    max_uses=0,
):
    """A Mandate tuple (expiry, maxDuration, channels, transforms, minFee, territories, maxUses)."""
    return (
        start + days * DAY,
        max_days * DAY,
        vocab.channel_mask(channels),
        vocab.transform_mask(transforms),
        fee,
        territories(*where),
        max_uses,
    )


@pytest.fixture
def appoint(registry, model, twin, chain):
    """Appoints an agent for the twin: `appoint(agent, days=30, where=("EU",), ...)` returns the caps."""

    def appoint(agent, twin_id=twin, **caps):
        mandate = make_caps(chain.pending_timestamp, **caps)
        registry.appointAgent(twin_id, agent, mandate, sender=model)
        return mandate

    return appoint


def registry_logs(chain, registry, from_block=0):
    """Every log the registry's address emitted, as the node returns them (eth_getLogs)."""
    return chain.provider.web3.eth.get_logs({"address": registry.address, "fromBlock": from_block, "toBlock": "latest"})


@pytest.fixture
def terms(twin, brand, chain):
    return make_terms(twin, brand, chain.pending_timestamp)


@pytest.fixture
def license_id(registry, model, terms):
    registry.grantLicense(terms, sender=model)
    return 1


def imprint(i: int) -> bytes:
    """Image i's imprint: pixel-hash prefix (16 bytes), central pHash (8), second-stage signature (32); no
    zero bytes in the pHash, so a log that dropped or masked the wrong bytes shows."""
    pixel = hashlib.sha256(b"pixels %d" % i).digest()[:16]
    central = (0xA5A5A5A5A5A5A5A5 ^ i).to_bytes(8, "big")
    signature = hashlib.sha256(b"signature %d" % i).digest()
    return pixel + central + signature


def content(i: int) -> bytes:
    return (i + 1).to_bytes(32, "big")
