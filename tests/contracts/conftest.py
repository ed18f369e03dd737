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
USDC = 10**6  # one Test USD Coin, in units (6 decimals)
IMPRINT_BYTES = 62  # pixel-hash prefix 16, central pHash 8, second-stage signature 38
NATIVE = "0x" + "00" * 20  # a fee's currency: the chain's native coin
ALTERATIONS = 0xE0  # age, body, face: an agent grants them only with the model's own consent
# a license's flags
TRAINING, REMOVE_AFTER_END, SUSPENDED, TOKEN_FEE = 1, 2, 4, 8

# The EIP-712 types as IConsentRegistry documents them (not the client's copy in consentry.offers: these
# tests check the contract against its interface).
TERMS_FIELDS = [
    ("twinId", "uint256"),
    ("licensee", "address"),
    ("channels", "uint8"),
    ("transforms", "uint8"),
    ("territories", "uint56"),
    ("validFrom", "uint40"),
    ("validUntil", "uint40"),
    ("maxUses", "uint32"),
    ("feePerUse", "uint80"),
    ("currency", "address"),
    ("trainingAllowed", "bool"),
    ("removeAfterEnd", "bool"),
    ("termsHash", "bytes32"),
]
OFFER_FIELDS = TERMS_FIELDS + [("nonce", "uint256"), ("deadline", "uint256")]
# AlterationConsent signs the grant's whole Terms (a nested EIP-712 struct) beside agent, nonce and deadline.
CONSENT_FIELDS = [("agent", "address"), ("terms", "Terms"), ("nonce", "uint256"), ("deadline", "uint256")]
DOMAIN_NAME, DOMAIN_VERSION = "Consentry", "2"


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
def usdc(project, accounts):
    """The development stablecoin (contracts/dev/TestUSDC.sol, OpenZeppelin's ERC-20, 6 decimals)."""
    return project.TestUSDC.deploy(sender=accounts[9])


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
    currency=NATIVE,
    training=False,
    remove_after_end=False,
):
    """A Terms tuple (twinId, licensee, channels, transforms, territories, validFrom, validUntil, maxUses,
    feePerUse, currency, trainingAllowed, removeAfterEnd, termsHash)."""
    return (
        twin_id,
        _address(licensee),
        vocab.channel_mask(channels),
        vocab.transform_mask(transforms),
        territories(*where),
        start if valid_from is None else valid_from,
        start + days * DAY,
        max_uses,
        fee,
        _address(currency),
        training,
        remove_after_end,
        terms_hash,
    )


def _address(who):
    return who.address if hasattr(who, "address") else who


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
    currency=NATIVE,
    training=False,
):
    """A Mandate tuple (expiry, maxDuration, channels, transforms, minFee, territories, maxUses, currency,
    training)."""
    return (
        start + days * DAY,
        max_days * DAY,
        vocab.channel_mask(channels),
        vocab.transform_mask(transforms),
        fee,
        territories(*where),
        max_uses,
        _address(currency),
        training,
    )


def _typed_data(primary, fields, message, chain_id, registry, version=DOMAIN_VERSION, extra_types=None):
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: [{"name": n, "type": t} for n, t in fields],
            **(extra_types or {}),
        },
        "primaryType": primary,
        "domain": {"name": DOMAIN_NAME, "version": version, "chainId": chain_id, "verifyingContract": _address(registry)},
        "message": message,
    }


def _sign(signer, typed) -> bytes:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    key = getattr(signer, "private_key", None) or signer.key  # an Ape test account or an eth_account one
    return bytes(Account.from_key(key).sign_message(encode_typed_data(full_message=typed)).signature)


def sign_offer(signer, terms, nonce, deadline, chain_id, registry, version=DOMAIN_VERSION) -> bytes:
    """The model's EIP-712 signature over an Offer (a Terms tuple, nonce and deadline)."""
    message = dict(zip([n for n, _ in TERMS_FIELDS], terms), nonce=nonce, deadline=deadline)
    return _sign(signer, _typed_data("Offer", OFFER_FIELDS, message, chain_id, registry, version))


class Consent(tuple):
    """An AlterationConsent tuple (agent, nonce, deadline) that remembers the Terms tuple it consents to
    (`.terms`), so sign_consent knows what the model signs; the contract takes it as a plain tuple."""

    terms: tuple

    def __new__(cls, values, terms):
        consent = super().__new__(cls, values)
        consent.terms = tuple(terms)
        return consent

    def replace(self, *, agent=None, nonce=None, deadline=None, terms=None):
        """The same consent with some fields changed (what a tamperer submits)."""
        agent_, nonce_, deadline_ = self
        return Consent(
            (
                agent_ if agent is None else _address(agent),
                nonce_ if nonce is None else nonce,
                deadline_ if deadline is None else deadline,
            ),
            self.terms if terms is None else terms,
        )


def make_consent(terms, agent, *, nonce=0, deadline):
    """The model's AlterationConsent to `agent` granting exactly `terms` (a Terms tuple): (agent, nonce,
    deadline), carrying the terms as `.terms`."""
    return Consent((_address(agent), nonce, deadline), terms)


def sign_consent(signer, consent, chain_id, registry, version=DOMAIN_VERSION, *, terms=None) -> bytes:
    """The model's EIP-712 signature over AlterationConsent(agent, Terms terms, nonce, deadline); the terms
    are the consent's own (`.terms`) unless given."""
    terms = consent.terms if terms is None else terms
    agent, nonce, deadline = consent
    message = dict(agent=agent, terms=dict(zip([n for n, _ in TERMS_FIELDS], terms)), nonce=nonce, deadline=deadline)
    terms_type = {"Terms": [{"name": n, "type": t} for n, t in TERMS_FIELDS]}
    return _sign(signer, _typed_data("AlterationConsent", CONSENT_FIELDS, message, chain_id, registry, version, terms_type))


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
    """Image i's imprint: pixel-hash prefix (16 bytes), central pHash (8), second-stage signature (38); no
    zero bytes in the pHash or the signature's first 8 bytes (the end of the event's first word, which 2.2
    zero-padded), so a log that dropped or masked the wrong bytes shows."""
    pixel = hashlib.sha256(b"pixels %d" % i).digest()[:16]
    central = (0xA5A5A5A5A5A5A5A5 ^ i).to_bytes(8, "big")
    signature = hashlib.sha512(b"signature %d" % i).digest()[:38]
    signature = bytes(b | 0x80 for b in signature[:8]) + signature[8:]
    return pixel + central + signature


def content(i: int) -> bytes:
    return (i + 1).to_bytes(32, "big")
