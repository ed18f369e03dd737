"""Publishing: a brand records the images it publishes under a license and pays the per-use fees;
the model collects them."""

from __future__ import annotations

from dataclasses import dataclass

from . import licenses, vocab
from .errors import Reverted
from .hashing import Fingerprint


@dataclass(frozen=True)
class Published:
    tx: str
    gas_used: int
    fee_paid_wei: int
    block: int


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
    """Records `fps` as one batch; `disclosures`: the bits (disclosure.METADATA | C2PA | LABEL) every image
    of the batch carries."""
    ok, reasons = licenses.check(chain, license_id, account.address, channel, territory, transforms, len(fps))
    if not ok:
        raise Reverted("; ".join(r["message"] for r in reasons), "checkPublication", {"reasons": reasons})
    lic = licenses.get(chain, license_id)
    fee = lic["fee_per_use"] * len(fps)
    fn = chain.registry.functions.publish(
        license_id,
        vocab.channel_index(channel),
        vocab.territory_code(territory),
        vocab.transform_mask(transforms),
        disclosures,
        [f.content_hash for f in fps],
        b"".join(f.imprint for f in fps),
    )
    receipt = chain.send(fn, account, value=fee)
    return Published("0x" + bytes(receipt["transactionHash"]).hex(), receipt["gasUsed"], fee, receipt["blockNumber"])


def balance(chain, address: str) -> int:
    return chain.call(chain.registry.functions.balanceOf(address))


def withdraw(chain, account) -> tuple[int, dict]:
    amount = balance(chain, account.address)
    if amount == 0:
        raise Reverted(f"{account.address} has no fees to withdraw", "NothingToWithdraw", {})
    return amount, chain.send(chain.registry.functions.withdrawFees(), account)
