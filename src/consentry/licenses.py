"""Licenses and agent mandates: terms from human options, grants, signed offers, revocation,
the license in words, and the gas-free `check` of a planned publication."""

from __future__ import annotations

from dataclasses import dataclass

from . import offers, vocab
from .errors import ChainError, FileProblem, NotFound, Reverted, UsageError

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
]
UNLIMITED = 0
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
    fee_wei: int
    terms_text: str | None = None  # the full human-readable terms; generated when absent


def build_terms(t: TermsInput) -> tuple[dict, str]:
    """The on-chain Terms struct (as a dict) and the human-readable terms text it hashes."""
    from eth_hash.auto import keccak

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
    if not 0 <= t.fee_wei < 2**80:  # the registry's uint80
        raise UsageError("--fee must be below 2^80 wei (about 1.2 million ether per use)")
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
        "feePerUse": t.fee_wei,
    }
    text = t.terms_text if t.terms_text is not None else describe_terms(terms)
    terms["termsHash"] = keccak(text.encode())
    return terms, text


def describe_terms(terms: dict) -> str:
    """A canonical text of the terms; its keccak256 is the terms hash when no document is given."""
    return "\n".join(
        [
            "Consentry likeness license (standard terms v1)",
            f"Twin: {terms['twinId']}",
            f"Licensee: {terms['licensee']}",
            f"Channels: {', '.join(vocab.channel_names(terms['channels']))}",
            f"Territories: {', '.join(vocab.unpack_territories(terms['territories']))}",
            f"AI transformations allowed: {', '.join(vocab.transform_names(terms['transforms'])) or 'none'}",
            f"Valid from: {vocab.format_time(terms['validFrom'])}",
            f"Valid until: {vocab.format_time(terms['validUntil'])}",
            f"Maximum uses: {terms['maxUses'] or 'unlimited'}",
            f"Fee per use: {terms['feePerUse']} wei",
            "Every published image must be disclosed as AI-generated and recorded in the registry.",
            "",
        ]
    )


def _license_id_from(chain, receipt) -> int:
    return chain.registry.events.LicenseGranted().process_receipt(receipt)[0]["args"]["licenseId"]


def grant(chain, account, terms: dict) -> tuple[int, dict]:
    receipt = chain.send(chain.registry.functions.grantLicense(offers.terms_tuple(terms)), account)
    return _license_id_from(chain, receipt), receipt


def next_free_nonce(chain, model: str, start: int = 0) -> int:
    n = start
    while chain.call(chain.registry.functions.isNonceUsed(model, n)):
        n += 1
    return n


def _issue_nonce(chain, model: str) -> int:
    """The next offer nonce: unused on chain and not handed out to an earlier, still unused offer.
    Sequential nonces share bitmap words on chain, so most acceptances pay a warm write."""
    import json

    from . import config

    path = config.home() / "offer-nonces.json"
    try:
        issued = json.loads(path.read_text())
    except (OSError, ValueError):
        issued = {}
    key = f"{chain.chain_id}:{chain.address}:{model}"
    nonce = next_free_nonce(chain, model, issued.get(key, -1) + 1)
    issued[key] = nonce
    config.ensure_home()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(issued, indent=2, sort_keys=True))
    tmp.replace(path)
    return nonce


def make_offer(chain, account, terms: dict, deadline: int, terms_text: str, nonce: int | None = None) -> dict:
    twin = chain.call(chain.registry.functions.getTwin(terms["twinId"]))
    if twin[0] != account.address:
        raise UsageError(f"only the twin's owner {twin[0]} can sign offers for twin {terms['twinId']}")
    if twin[1]:
        raise UsageError(f"twin {terms['twinId']} is withdrawn; it cannot be offered")
    if nonce is None:
        nonce = _issue_nonce(chain, account.address)
    sig = offers.sign(account, terms, nonce, deadline, chain.chain_id, chain.address)
    return offers.to_file_dict(terms, nonce, deadline, chain.chain_id, chain.address, sig, account.address, terms_text)


def check_offer_text(offer: dict) -> str:
    """The offer's terms text, proven to be what the model signed: its keccak256 must be the signed terms
    hash. An offer without a text must carry the standard terms' hash (the canonical text of its fields).
    A text that does not match (one that says "free" over a signed fee, say) is refused."""
    from eth_hash.auto import keccak

    terms = offer["terms"]
    signed = (
        terms["termsHash"] if isinstance(terms["termsHash"], bytes) else bytes.fromhex(str(terms["termsHash"]).removeprefix("0x"))
    )
    text = offer.get("terms_text")
    if text is None:
        text = describe_terms(
            {
                k: terms[k]
                for k in (
                    "twinId",
                    "licensee",
                    "channels",
                    "transforms",
                    "territories",
                    "validFrom",
                    "validUntil",
                    "maxUses",
                    "feePerUse",
                )
            }
        )
        if keccak(text.encode()) != signed:
            raise FileProblem(
                "the offer carries no terms text and its terms hash is not the standard terms': ask the "
                "model for the terms document it signed before accepting",
                code="offer_terms_mismatch",
            )
    elif keccak(text.encode()) != signed:
        raise FileProblem(
            "the offer's terms text is not what the model signed (its keccak256 differs from the signed "
            "terms hash): the text may promise what the license does not; refuse it",
            code="offer_terms_mismatch",
        )
    return text


def accept_offer(chain, account, offer: dict) -> tuple[int, dict]:
    check_offer_text(offer)
    if offer["chain_id"] != chain.chain_id:
        raise ChainError(f"the offer is for chain {offer['chain_id']}, this network is chain {chain.chain_id}")
    if offer["registry"].lower() != chain.address.lower():
        raise ChainError(f"the offer is for registry {offer['registry']}, not {chain.address}: pass --registry")
    sig = bytes.fromhex(offer["signature"].removeprefix("0x"))
    fn = chain.registry.functions.grantLicenseWithSignature(
        offers.terms_tuple(offer["terms"]), offer["nonce"], offer["deadline"], sig
    )
    receipt = chain.send(fn, account)
    return _license_id_from(chain, receipt), receipt


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

    times = status_rule.LicenseTimes(lic["valid_from"], lic["valid_until"], bool(lic["revoked"]), twin[1])
    status, _ = status_rule.describe(times, now)
    if status_rule.is_valid(times, now) != bool(valid):  # the one rule and the contract's view must agree
        raise ChainError(f"license {license_id}: the registry says valid={valid}, the status rule says {status}")
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
        "fee_per_use_wei": lic["fee_per_use"],
        "terms_hash": "0x" + bytes(granted["termsHash"]).hex() if granted else None,
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
) -> dict:
    caps = (
        expiry,
        max_duration,
        vocab.channel_mask(channels),
        vocab.transform_mask(transforms),
        min_fee,
        vocab.pack_territories(list(territories)),
        max_uses,
    )
    return chain.send(chain.registry.functions.appointAgent(twin_id, agent, caps), account)


def revoke_agent(chain, account, twin_id: int, agent: str) -> dict:
    return chain.send(chain.registry.functions.revokeAgent(twin_id, agent), account)
