"""Licenses and agent mandates: terms from human options, grants, signed offers, revocation,
the license in words, and the gas-free `check` of a planned publication."""

from __future__ import annotations

from dataclasses import dataclass

from . import offers, termsdoc, vocab
from .currency import NATIVE, Currency
from .errors import ChainError, FileProblem, NotFound, Reverted, UsageError
from .text import safe

# bit -> (name, sentence) of checkPublication's reasons
REASONS = [
    (1, "unknown-license", "license {lic} does not exist"),
    (2, "not-licensee", "{who} is not the licensee of license {lic}"),
    (4, "not-yet-valid", "license {lic} is not valid yet (from {valid_from})"),
    (8, "expired", "license {lic} expired ({valid_until})"),
    (16, "revoked", "license {lic} was revoked (effective {valid_until})"),
    (32, "twin-withdrawn", "the twin was withdrawn"),
    (64, "channel", "license {lic} does not allow channel '{channel}'"),
    (128, "territory", "license {lic} does not cover territory '{territory}'"),
    (256, "transformation", "license {lic} does not allow transformation(s) {transforms}"),
    (512, "uses-exhausted", "license {lic} has no uses left ({uses} of {max_uses} used)"),
    (1024, "suspended", "license {lic} is suspended by the model"),
]
# the registry's custom error for each refusal, and the order its publish() checks them in (_revertFor)
ERROR_OF = {
    "unknown-license": "UnknownLicense",
    "not-licensee": "NotLicensee",
    "not-yet-valid": "LicenseNotYetValid",
    "revoked": "LicenseRevokedAt",
    "expired": "LicenseExpired",
    "twin-withdrawn": "TwinWithdrawnAt",
    "suspended": "LicenseIsSuspended",
    "channel": "ChannelNotAllowed",
    "territory": "TerritoryNotAllowed",
    "transformation": "TransformationNotAllowed",
    "uses-exhausted": "UsesExhausted",
}
REFUSAL_ORDER = list(ERROR_OF)
ALTERATIONS = 0xE0  # age, body, face: an agent needs the model's own consent
TRAINING, REMOVE_AFTER_END, SUSPENDED, TOKEN_FEE = 1, 2, 4, 8  # a license's flags
MAX_LICENSE_SECONDS = 3653 * 86400  # the registry's MAX_LICENSE_SECONDS: ten years, leap days included


@dataclass(frozen=True)
class TermsInput:
    twin_id: int
    licensee: str
    channels: list[str]
    territories: list[str]
    transforms: list[str]
    valid_from: int
    valid_until: int
    max_uses: int
    fee_units: int  # in the currency's smallest unit
    purpose: str  # the intended uses in words (required)
    currency: Currency = NATIVE
    training: bool = False  # the images may train AI models
    remove_after_end: bool = False  # published images must come down when the license ends
    additional_terms: str | None = None  # the parties' own text, kept in the terms document


def build_terms(t: TermsInput) -> tuple[dict, dict]:
    """The on-chain Terms struct (as a dict) and the terms document its termsHash commits to."""
    if t.valid_until <= t.valid_from:
        raise UsageError("the license ends before it starts: check --from and --until/--for")
    for flag, when in (("--from", t.valid_from), ("--until/--for", t.valid_until)):
        if not 0 <= when < 2**40:  # the registry's uint40 seconds
            raise UsageError(f"{flag} must be a date between 1970 and the year 36812 (unix seconds, uint40)")
    if t.valid_until - t.valid_from > MAX_LICENSE_SECONDS:
        raise UsageError(
            f"a license lasts at most ten years ({MAX_LICENSE_SECONDS // 86400} days, as the registry "
            "enforces): shorten --until/--for, and renew it later"
        )
    if not 0 <= t.max_uses < 2**32:
        raise UsageError("--max-uses must be between 0 (unlimited) and 4294967295")
    if not 0 <= t.fee_units < 2**80:  # the registry's uint80
        raise UsageError(f"--fee must be below 2^80 of the currency's smallest unit ({t.currency.format(2**80 - 1)})")
    if not t.channels:
        raise UsageError("a license needs at least one channel (e.g. --channels social,ecommerce)")
    terms = {
        "twinId": t.twin_id,
        "licensee": t.licensee,
        "channels": vocab.channel_mask(t.channels),
        "transforms": vocab.transform_mask(t.transforms),
        "territories": vocab.pack_territories(t.territories),
        "validFrom": t.valid_from,
        "validUntil": t.valid_until,
        "maxUses": t.max_uses,
        "feePerUse": t.fee_units,
        "currency": t.currency.address,
        "trainingAllowed": t.training,
        "removeAfterEnd": t.remove_after_end,
    }
    doc = termsdoc.build(
        terms,
        purpose=t.purpose,
        symbol=t.currency.symbol,
        decimals=t.currency.decimals,
        additional_terms=t.additional_terms,
    )
    terms["termsHash"] = termsdoc.terms_hash(doc)
    return terms, doc


def _license_id_from(chain, receipt) -> int:
    return chain.registry.events.LicenseGranted().process_receipt(receipt)[0]["args"]["licenseId"]


def grant(chain, account, terms: dict) -> tuple[int, dict]:
    if terms["transforms"] & ALTERATIONS:
        twin = chain.call(chain.registry.functions.getTwin(terms["twinId"]))
        mandate = chain.call(chain.registry.functions.getMandate(terms["twinId"], account.address))
        if twin[0] != account.address and mandate[0] > chain.now():  # an agent (a stranger: the chain says so)
            raise Reverted(
                f"an agent may allow {', '.join(vocab.transform_names(terms['transforms'] & ALTERATIONS))} only with the "
                "model's own consent: ask her to sign it (`consentry license consent ... --agent YOU --out consent.json`) "
                "and grant with `license grant --consent consent.json`",
                "ModelConsentRequired",
            )
    receipt = chain.send(chain.registry.functions.grantLicense(offers.terms_tuple(terms)), account)
    return _license_id_from(chain, receipt), receipt


def _require_owner(chain, account, twin_id: int, what: str) -> None:
    twin = chain.call(chain.registry.functions.getTwin(twin_id))
    if twin[0] != account.address:
        raise UsageError(f"only the twin's owner {twin[0]} can sign {what} for twin {twin_id}")
    if twin[1]:
        raise UsageError(f"twin {twin_id} is withdrawn; it cannot be licensed")


def make_offer(chain, account, terms: dict, deadline: int, doc: dict, nonce: int | None = None) -> dict:
    """A signed offer file; its nonce is random (no local counter: any machine may sign for the model)."""
    _require_owner(chain, account, terms["twinId"], "offers")
    nonce = offers.random_nonce() if nonce is None else nonce
    sig = offers.sign(account, terms, nonce, deadline, chain.chain_id, chain.address)
    termsdoc.save(doc)
    return offers.to_file_dict(terms, nonce, deadline, chain.chain_id, chain.address, sig, account.address, doc)


def make_consent(chain, account, terms: dict, doc: dict, agent: str, deadline: int) -> dict:
    """The model's signed consent to the alterations (age, body, face) in `terms`, for `agent` to grant."""
    alterations = terms["transforms"] & ALTERATIONS
    if not alterations:
        raise UsageError("these terms allow no alteration (age, body, face): the agent's mandate covers them, no consent needed")
    _require_owner(chain, account, terms["twinId"], "consents")
    consent = {"agent": agent, "nonce": offers.random_nonce(), "deadline": deadline}
    sig = offers.sign_consent(account, consent, terms, chain.chain_id, chain.address)
    termsdoc.save(doc)
    return offers.consent_file_dict(terms, consent, chain.chain_id, chain.address, sig, account.address, doc)


def check_document(signed: dict) -> dict:
    """The offer's (or consent's) terms document, proven to be what the model signed (its hash) and to say
    what the on-chain terms say; FileProblem otherwise (an offer whose text says "free" over a signed fee)."""
    terms = signed["terms"]
    termsdoc.check(signed["terms_document"], terms, bytes.fromhex(terms["termsHash"].removeprefix("0x")))
    return signed["terms_document"]


def check_fee_token(chain, signed: dict) -> Currency:
    """For a token fee: the token's own symbol() and decimals() must be what the signed document names (a
    document that shows "2.5 USDC" over another token's units is refused). Returns the currency; its `known`
    says whether this network profile lists it."""
    from . import currency as currencies

    terms, doc = signed["terms"], signed["terms_document"]
    if not int(terms["currency"], 16):
        return NATIVE
    cur = currencies.token(chain, terms["currency"])
    if (cur.symbol, cur.decimals) != (doc["rate"]["symbol"], doc["rate"]["decimals"]):
        raise FileProblem(
            f"the terms name their fee token {safe(doc['rate']['symbol'])} ({doc['rate']['decimals']} decimals) but "
            f"{cur.address} is {cur.symbol} ({cur.decimals} decimals): refuse them",
            code="terms_inconsistent",
        )
    return cur


def _check_target(chain, signed: dict) -> None:
    what = "consent" if "consent" in signed else "offer"
    if signed["chain_id"] != chain.chain_id:
        raise ChainError(
            f"the {what} is for chain {signed['chain_id']}, this network is chain {chain.chain_id}", code="wrong_chain"
        )
    if signed["registry"].lower() != chain.address.lower():
        raise ChainError(f"the {what} is for registry {signed['registry']}, not {chain.address}: pass --registry")


def grant_with_consent(chain, account, consent_file: dict) -> tuple[int, dict]:
    """The agent's grant of the consent file's terms, with the model's signed consent."""
    check_document(consent_file)
    _check_target(chain, consent_file)
    check_fee_token(chain, consent_file)
    c = consent_file["consent"]
    if c["agent"].lower() != account.address.lower():
        raise Reverted(
            f"the model consented for agent {c['agent']}, not {account.address}", "ConsentMismatch", {"field": "agent"}
        )
    sig = bytes.fromhex(consent_file["signature"].removeprefix("0x"))
    fn = chain.registry.functions.grantLicenseWithConsent(offers.terms_tuple(consent_file["terms"]), offers.consent_tuple(c), sig)
    receipt = chain.send(fn, account)
    termsdoc.save(consent_file["terms_document"])
    return _license_id_from(chain, receipt), receipt


def cancel_offer(chain, account, nonce: int) -> dict:
    return chain.send(chain.registry.functions.cancelOffer(nonce), account)


def accept_offer(chain, account, offer: dict) -> tuple[int, dict]:
    check_document(offer)
    _check_target(chain, offer)
    check_fee_token(chain, offer)
    sig = bytes.fromhex(offer["signature"].removeprefix("0x"))
    fn = chain.registry.functions.grantLicenseWithSignature(
        offers.terms_tuple(offer["terms"]), offer["nonce"], offer["deadline"], sig
    )
    receipt = chain.send(fn, account)
    termsdoc.save(offer["terms_document"])
    return _license_id_from(chain, receipt), receipt


def suspend(chain, account, license_id: int) -> dict:
    return chain.send(chain.registry.functions.suspendLicense(license_id), account)


def resume(chain, account, license_id: int) -> dict:
    return chain.send(chain.registry.functions.resumeLicense(license_id), account)


def revoke(chain, account, license_id: int, at: int) -> dict:
    return chain.send(chain.registry.functions.revokeLicense(license_id, at), account)


def get(chain, license_id: int) -> dict:
    try:
        l = chain.call(chain.registry.functions.getLicense(license_id))
    except Reverted as e:
        if e.error_name == "UnknownLicense":
            raise NotFound(f"unknown license {license_id}: check the id (`consentry license show ID`)") from None
        raise
    keys = [
        "licensee",
        "twin_id",
        "channels",
        "transforms",
        "max_uses",
        "flags",
        "currency_id",
        "valid_from",
        "valid_until",
        "uses",
        "fee_per_use",
        "territories",
        "revoked",
    ]
    return dict(zip(keys, l))


def show(chain, license_id: int) -> dict:
    lic = get(chain, license_id)
    twin = chain.call(chain.registry.functions.getTwin(lic["twin_id"]))
    now = chain.now()
    valid = chain.call(chain.registry.functions.isLicenseValid(license_id, now))
    logs = chain.registry.events.LicenseGranted().get_logs(
        from_block=chain.deploy_block, argument_filters={"licenseId": license_id}
    )
    granted = logs[0]["args"] if logs else {}
    from . import status as status_rule

    flags = lic["flags"]
    suspended = bool(flags & SUSPENDED)
    times = status_rule.LicenseTimes(lic["valid_from"], lic["valid_until"], bool(lic["revoked"]), twin[1], suspended)
    status, _ = status_rule.describe(times, now)
    if status_rule.is_valid(times, now) != bool(valid):  # the one rule and the contract's view must agree
        raise ChainError(f"license {license_id}: the registry says valid={valid}, the status rule says {status}")
    from . import currency as currencies

    cur = currencies.of(chain, chain.call(chain.registry.functions.currencyOf(license_id)) if flags & TOKEN_FEE else None)
    terms_hash = "0x" + bytes(granted["termsHash"]).hex() if granted else None
    doc = termsdoc.load(bytes.fromhex(terms_hash[2:])) if terms_hash else None
    if doc is not None and not (granted and termsdoc.consistent(doc, termsdoc.granted_terms(granted))):
        doc = None  # a document with this hash, but not this license's terms (another license reused the hash)
    return {
        "license_id": license_id,
        "twin_id": lic["twin_id"],
        "model": twin[0],
        "licensee": lic["licensee"],
        "grantor": granted.get("grantor"),
        "channels": vocab.channel_names(lic["channels"]),
        "territories": vocab.unpack_territories(lic["territories"]),
        "transforms": vocab.transform_names(lic["transforms"]),
        "valid_from": lic["valid_from"],
        "valid_until": lic["valid_until"],
        "original_valid_until": granted.get("validUntil", lic["valid_until"]),
        "max_uses": lic["max_uses"],
        "uses": lic["uses"],
        "fee_per_use": str(lic["fee_per_use"]),
        "fee_per_use_wei": lic["fee_per_use"] if cur.native else None,
        "currency": cur.to_dict(),
        "fee_shown": cur.format(lic["fee_per_use"]),
        "training": termsdoc.TRAINING[bool(flags & TRAINING)],
        "after_end": termsdoc.AFTER_END[bool(flags & REMOVE_AFTER_END)],
        "suspended": suspended,
        "terms_hash": terms_hash,
        "terms_document": doc,
        "purpose": doc["purpose"] if doc else None,
        "revoked": lic["revoked"],
        "twin_withdraw_at": twin[1],
        "valid_now": valid,
        "status": status,
    }


def check(
    chain, license_id: int, licensee: str, channel: str, territory: str, transforms: list[str], count: int = 1
) -> tuple[bool, list[dict]]:
    ch = vocab.channel_index(channel)
    terr = vocab.territory_code(territory)
    tr = vocab.transform_mask(transforms)
    now = chain.now()
    bits = chain.call(chain.registry.functions.checkPublication(license_id, licensee, ch, terr, tr, count, now))
    if bits == 0:
        return True, []
    lic = get(chain, license_id) if not bits & 1 else {}
    words = {
        "lic": license_id,
        "who": licensee,
        "channel": channel,
        "territory": territory.upper(),
        "transforms": ", ".join(vocab.transform_names(tr & ~lic.get("transforms", 0))),
        "valid_from": vocab.format_time(lic.get("valid_from", 0)),
        "valid_until": vocab.format_time(lic.get("valid_until", 0)),
        "uses": lic.get("uses"),
        "max_uses": lic.get("max_uses"),
    }
    reasons = [{"code": name, "message": text.format(**words)} for bit, name, text in REASONS if bits & bit]
    return False, reasons


def appoint_agent(
    chain,
    account,
    twin_id: int,
    agent: str,
    *,
    expiry: int,
    max_duration: int,
    channels: list[str],
    transforms: list[str],
    min_fee: int,
    territories: list[str] = ("WW",),
    max_uses: int = 0,
    currency: str = "0x" + "00" * 20,
    training: bool = False,
) -> dict:
    for flag, value, bits in (("--until/--for", expiry, 40), ("--max-duration", max_duration, 40), ("--min-fee", min_fee, 80)):
        if not 0 <= value < 2**bits:  # the registry's uint40 seconds and uint80 fee
            raise UsageError(f"{flag} is out of range (the registry keeps it in uint{bits}): choose a smaller value")
    caps = (
        expiry,
        max_duration,
        vocab.channel_mask(channels),
        vocab.transform_mask(transforms),
        min_fee,
        vocab.pack_territories(list(territories)),
        max_uses,
        currency,
        training,
    )
    return chain.send(chain.registry.functions.appointAgent(twin_id, agent, caps), account)


def revoke_agent(chain, account, twin_id: int, agent: str) -> dict:
    return chain.send(chain.registry.functions.revokeAgent(twin_id, agent), account)
