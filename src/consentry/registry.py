"""The typed library facade: one `Registry` per chain and registry, one method per verb, frozen results.

The CLI calls this; so can any Python program:

    reg = Registry.connect("local")
    terms, doc = licenses.build_terms(licenses.TermsInput(...))
    granted = reg.grant(account, terms, doc)          # Granted(license_id=3, terms_hash=..., tx=Tx(...))
    reg.suspend(model, granted.license_id)            # Tx
    [b.currency.format(b.units) for b in reg.balances(model.address)]

Below it, one module per concept holds the rules (licenses, publications, currency, termsdoc, offers);
every call goes through the one endpoint layer (`chain.Chain` over `endpoint.Endpoint`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import licenses, publications, termsdoc, twins
from .currency import Currency
from .hashing import Fingerprint


@dataclass(frozen=True)
class Tx:
    """A mined transaction."""

    tx: str
    gas_used: int
    block: int

    @classmethod
    def of(cls, receipt) -> "Tx":
        return cls("0x" + bytes(receipt["transactionHash"]).hex(), int(receipt["gasUsed"]), int(receipt["blockNumber"]))

    def to_dict(self) -> dict:
        return {"tx": self.tx, "gas_used": self.gas_used, "block": self.block}


@dataclass(frozen=True)
class Granted:
    """A new license: its id, the terms hash and the document it commits to, and the transaction."""

    license_id: int
    terms: dict
    document: dict
    tx: Tx

    @property
    def terms_hash(self) -> str:
        h = self.terms["termsHash"]
        return h if isinstance(h, str) else "0x" + h.hex()


@dataclass(frozen=True)
class Balance:
    """Fees credited to a model in one currency, in its smallest unit."""

    currency: Currency
    units: int

    def to_dict(self) -> dict:
        return {**self.currency.to_dict(), "units": str(self.units)}


@dataclass(frozen=True)
class Registry:
    chain: object  # chain.Chain: the endpoint, the contract, the fee options
    _extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def connect(cls, network: str = "local", registry: str | None = None, chain_id: int | None = None, fees=None) -> "Registry":
        from . import chain

        return cls(chain.connect(network, registry, chain_id, fees))

    @property
    def address(self) -> str:
        return self.chain.address

    def now(self) -> int:
        return self.chain.now()

    # ------------------------------------------------------------ twins and agents

    def register_twin(self, account, paths: list[str], fps: list[Fingerprint], **metadata) -> twins.Registered:
        """Anchor the Merkle root of a twin's capture assets; `metadata`: name, agency, notes, metadata_uri,
        manifest_out."""
        return twins.register(self.chain, account, paths, fps, **metadata)

    def twin(self, twin_id: int) -> dict:
        """A twin's owner and withdrawal time; NotFound for an unknown id."""
        return twins.require_exists(self.chain, twin_id)

    def withdraw_twin(self, account, twin_id: int, at: int) -> Tx:
        twins.require_exists(self.chain, twin_id)
        return Tx.of(twins.withdraw(self.chain, account, twin_id, at))

    def attest(self, account, twin_id: int, statement: str | None) -> Tx:
        return Tx.of(twins.attest(self.chain, account, twin_id, statement))

    def revoke_attestation(self, account, twin_id: int) -> Tx:
        return Tx.of(twins.revoke_attestation(self.chain, account, twin_id))

    def appoint_agent(self, account, twin_id: int, agent: str, **caps) -> Tx:
        """A mandate: caps expiry, max_duration, channels, transforms, min_fee, territories, max_uses, currency,
        training (see licenses.appoint_agent)."""
        return Tx.of(licenses.appoint_agent(self.chain, account, twin_id, agent, **caps))

    def revoke_agent(self, account, twin_id: int, agent: str) -> Tx:
        return Tx.of(licenses.revoke_agent(self.chain, account, twin_id, agent))

    # ------------------------------------------------------------ licenses

    def grant(self, account, terms: dict, document: dict) -> Granted:
        """Grant as the model, or as an agent within its mandate (alterations need `grant_with_consent`)."""
        license_id, receipt = licenses.grant(self.chain, account, terms)
        termsdoc.save(document)
        return Granted(license_id, terms, document, Tx.of(receipt))

    def grant_with_consent(self, account, consent_file: dict) -> Granted:
        """An agent's grant of the terms of the model's signed consent to alterations."""
        license_id, receipt = licenses.grant_with_consent(self.chain, account, consent_file)
        return Granted(license_id, consent_file["terms"], consent_file["terms_document"], Tx.of(receipt))

    def offer(self, account, terms: dict, document: dict, deadline: int) -> dict:
        """The model's signed offer (the file's contents); no transaction."""
        return licenses.make_offer(self.chain, account, terms, deadline, document)

    def consent(self, account, terms: dict, document: dict, agent: str, deadline: int) -> dict:
        """The model's signed consent to the alterations in `terms` (the file's contents); no transaction."""
        return licenses.make_consent(self.chain, account, terms, document, agent, deadline)

    def accept(self, account, offer: dict) -> Granted:
        license_id, receipt = licenses.accept_offer(self.chain, account, offer)
        return Granted(license_id, offer["terms"], offer["terms_document"], Tx.of(receipt))

    def cancel_offer(self, account, nonce: int) -> Tx:
        return Tx.of(licenses.cancel_offer(self.chain, account, nonce))

    def suspend(self, account, license_id: int) -> Tx:
        return Tx.of(licenses.suspend(self.chain, account, license_id))

    def resume(self, account, license_id: int) -> Tx:
        return Tx.of(licenses.resume(self.chain, account, license_id))

    def revoke(self, account, license_id: int, at: int) -> Tx:
        licenses.get(self.chain, license_id)  # NotFound before a transaction
        return Tx.of(licenses.revoke(self.chain, account, license_id, at))

    def license(self, license_id: int) -> dict:
        """A license in words: terms, currency, training, after-end, status now, purpose when kept here."""
        return licenses.show(self.chain, license_id)

    def check(self, license_id: int, licensee: str, channel: str, territory: str, transforms: list[str]):
        return licenses.check(self.chain, license_id, licensee, channel, territory, transforms)

    # ------------------------------------------------------------ publications and fees

    def publish(
        self,
        account,
        license_id: int,
        fps: list[Fingerprint],
        channel: str,
        territory: str,
        transforms: list[str],
        disclosures: int = 0,
    ) -> publications.Published:
        return publications.publish(self.chain, account, license_id, fps, channel, territory, transforms, disclosures)

    def balances(self, address: str, extra: list[str] = ()) -> list[Balance]:
        return [Balance(c, u) for c, u in publications.balances(self.chain, address, list(extra))]

    def withdraw(self, account, currency: Currency) -> Tx:
        return Tx.of(publications.withdraw(self.chain, account, currency))
