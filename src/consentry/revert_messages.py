"""Readable sentences for the registry's custom errors (names and arguments from the ABI)."""

from __future__ import annotations

from .vocab import CHANNELS, format_time, format_wei, territory_name, transform_names


def _channel(i: int) -> str:
    return CHANNELS[i] if i < len(CHANNELS) else f"#{i}"


_CAPS = {
    "start": "a start on or after the mandate's expiry",
    "uses": "this number of uses (above the mandate's cap, or unlimited)",
    "duration": "this duration (longer than the mandate's maximum)",
    "channels": "these channels",
    "transforms": "these AI transformations",
    "territories": "these territories",
    "fee": "this fee (below the mandate's floor)",
    "currency": "this currency (the mandate names another)",
    "training": "AI training (the mandate does not allow it)",
}


def describe_revert(name: str, a: dict) -> str:
    lic = a.get("licenseId")
    twin = a.get("twinId")
    messages = {
        "UnknownTwin": lambda: f"unknown twin {twin}",
        "UnknownLicense": lambda: f"unknown license {lic}",
        "NotTwinOwner": lambda: f"{a['account']} does not own twin {twin}: act --as the model who registered it",
        "NotAuthorisedForTwin": lambda: f"{a['account']} is neither the owner of twin {twin} nor an agent with a live mandate",
        "TwinWithdrawnAt": lambda: f"twin {twin} is withdrawn (from {format_time(a['withdrawAt'])})",
        "EffectiveTimeInPast": lambda: (
            f"the effective time {format_time(a['effectiveAt'])} is in the past: use now or a later time"
        ),
        "EmptyAssets": lambda: "a twin needs at least one asset",
        "MandateExpiryInPast": lambda: f"the mandate expiry {format_time(a['expiry'])} is not in the future",
        "InvalidWindow": lambda: (
            f"the license window {format_time(a['validFrom'])} → {format_time(a['validUntil'])} is empty or already over"
        ),
        "LicenseTooLong": lambda: (
            f"a license lasts at most ten years ({a['maxSeconds'] // 86400} days); "
            f"{format_time(a['validFrom'])} → {format_time(a['validUntil'])} is longer: renew it later instead"
        ),
        "InvalidChannels": lambda: "a license needs at least one valid channel",
        "InvalidTerritories": lambda: "a license needs one to five valid territories",
        "InvalidLicensee": lambda: "the licensee (or agent) address is the zero address",
        "MandateExceeded": lambda: (
            f"the agent's mandate for twin {twin} does not cover {_CAPS.get(a['cap'], a['cap'])}: "
            "`consentry agent appoint` shows what it may grant; the model widens it or grants herself"
        ),
        "OfferExpired": lambda: f"the offer expired at {format_time(a['deadline'])}: ask the model for a new one",
        "OfferNonceUsed": lambda: f"the offer or consent (nonce {a['nonce']}) was already used or cancelled",
        "InvalidSignature": lambda: (
            f"the offer or consent is not signed by the twin's owner {a['expected']} for these terms on this chain and "
            f"registry (it recovers to {a['recovered']})"
        ),
        "LicenseAlreadyEnded": lambda: f"license {lic} already ended at {format_time(a['endedAt'])}",
        "NotLicensee": lambda: f"{a['account']} is not the licensee of license {lic}: act --as the brand it was granted to",
        "LicenseNotYetValid": lambda: f"license {lic} is not valid before {format_time(a['validFrom'])}",
        "LicenseExpired": lambda: f"license {lic} expired at {format_time(a['validUntil'])}",
        "LicenseRevokedAt": lambda: f"license {lic} was revoked (effective {format_time(a['effectiveAt'])})",
        "ChannelNotAllowed": lambda: f"license {lic} does not allow channel '{_channel(a['channel'])}'",
        "TerritoryNotAllowed": lambda: f"license {lic} does not cover territory '{territory_name(a['territory'])}'",
        "TransformationNotAllowed": lambda: (
            f"license {lic} does not allow transformation(s) {', '.join(transform_names(a['disallowed']))}"
        ),
        "UsesExhausted": lambda: f"license {lic} allows {a['maxUses']} uses and {a['used']} are used",
        "WrongFee": lambda: f"wrong fee: expected {format_wei(a['expected'])}, sent {format_wei(a['sent'])}",
        "InvalidBatch": lambda: "the publication batch is empty or malformed",
        "NothingToWithdraw": lambda: f"{a['model']} has no fees to withdraw",
        "TransferFailed": lambda: f"sending {format_wei(a['amount'])} to {a['model']} failed",
        "NotGrantor": lambda: f"{a['account']} did not grant license {lic}: an agent may revoke only the licenses it granted",
        "NotAttested": lambda: f"{a['attester']} does not attest twin {twin}",
        "AlreadyAttested": lambda: f"{a['attester']} already attests twin {twin}",
        "LicenseIsSuspended": lambda: f"license {lic} is suspended by the model (`consentry license resume` undoes it)",
        "LicenseNotSuspended": lambda: f"license {lic} is not suspended",
        "ModelConsentRequired": lambda: (
            f"an agent may allow {', '.join(transform_names(a['alterations']))} on twin {twin} only with the model's own "
            "consent: `consentry license consent ... --agent AGENT`, then `license grant --consent FILE`"
        ),
        "ConsentMismatch": lambda: f"the model's consent for twin {twin} does not match this grant ({a['field']})",
        "InvalidCurrency": lambda: f"{a['currency']} cannot be a fee currency (not a token contract, or 255 tokens already)",
        "TokenTransferFailed": lambda: (
            f"the token {a['currency']} did not move exactly {a['amount']} units from {a['from']}: check its balance and "
            "allowance (a token that takes a fee on transfer is refused)"
        ),
        "InvalidDisclosures": lambda: f"disclosure bits {a['disclosures']} are not 1, 2 and 4",
    }
    f = messages.get(name)
    return f() if f else f"the registry refused: {name}({', '.join(f'{k}={v}' for k, v in a.items())})"
