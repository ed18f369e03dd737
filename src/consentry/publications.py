"""Publishing: a brand records the images it publishes under a license and pays the per-use fees;
the model collects them."""

from __future__ import annotations

from dataclasses import dataclass

from . import currency as currencies
from . import licenses, vocab
from .currency import NATIVE, Currency
from .errors import Reverted
from .hashing import Fingerprint


@dataclass(frozen=True)
class Published:
    tx: str
    gas_used: int
    fee_paid: int  # in the license's currency's smallest unit
    block: int
    currency: Currency = NATIVE
    approve_tx: str | None = None  # the allowance sent first, for a token fee


def publish(
    chain,
    account,
    license_id: int,
    fps: list[Fingerprint],
    channel: str,
    territory: str,
    transforms: list[str],
    disclosures: int = 0,
) -> Published:
    """Records `fps` as one batch and pays the fees: native coin as the transaction's value, or a token
    fee by allowance (an exact approve is sent first when the allowance is short). `disclosures`: the bits
    (disclosure.METADATA | C2PA | LABEL) every image of the batch carries."""
    ok, reasons = licenses.check(chain, license_id, account.address, channel, territory, transforms, len(fps))
    if not ok:
        raise Reverted("; ".join(r["message"] for r in reasons), "checkPublication", {"reasons": reasons})
    lic = licenses.get(chain, license_id)
    fee = lic["fee_per_use"] * len(fps)
    cur = NATIVE
    if lic["flags"] & licenses.TOKEN_FEE:
        cur = currencies.of(chain, chain.call(chain.registry.functions.currencyOf(license_id)))
    approve = currencies.ensure_allowance(chain, account, cur, fee)
    fn = chain.registry.functions.publish(
        license_id,
        vocab.channel_index(channel),
        vocab.territory_code(territory),
        vocab.transform_mask(transforms),
        disclosures,
        [f.content_hash for f in fps],
        b"".join(f.imprint for f in fps),
    )
    receipt = chain.send(fn, account, value=fee if cur.native else 0)
    return Published(
        "0x" + bytes(receipt["transactionHash"]).hex(),
        receipt["gasUsed"],
        fee,
        receipt["blockNumber"],
        cur,
        "0x" + bytes(approve["transactionHash"]).hex() if approve else None,
    )


def balances(chain, address: str, extra: list[str] = ()) -> list[tuple[Currency, int]]:
    """Fees credited to `address` per currency: the native coin, every token this network knows, and `extra`."""
    seen = {currencies.NATIVE_ADDRESS.lower()}
    out = [(NATIVE, chain.call(chain.registry.functions.feeBalance(address, currencies.NATIVE_ADDRESS)))]
    for token in [*currencies.known_tokens(chain).values(), *extra]:
        if token.lower() in seen:
            continue
        seen.add(token.lower())
        cur = currencies.token(chain, token)
        out.append((cur, chain.call(chain.registry.functions.feeBalance(address, cur.address))))
    return out


def withdraw(chain, account, cur: Currency) -> dict:
    return chain.send(chain.registry.functions.withdrawFees(cur.address), account)
