"""Publishing: a brand records the images it publishes under a license and pays the per-use fees;
the model collects them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import currency as currencies
from . import licenses, vocab
from .currency import NATIVE, Currency
from .errors import ChainError, Reverted, UsageError
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
        first = next(name for name in licenses.REFUSAL_ORDER if any(r["code"] == name for r in reasons))
        raise Reverted("; ".join(r["message"] for r in reasons), licenses.ERROR_OF[first], {"reasons": reasons})
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
    """Fees credited to `address` per currency: the native coin, every token this network knows, every token
    her licenses have named (the registry's list of her tokens), and `extra`."""
    seen = {currencies.NATIVE_ADDRESS.lower()}
    out = [(NATIVE, chain.call(chain.registry.functions.feeBalance(address, currencies.NATIVE_ADDRESS)))]
    hers = list(chain.call(chain.registry.functions.currenciesOf(address)))
    for token in [*currencies.known_tokens(chain).values(), *hers, *extra]:
        if token.lower() in seen:
            continue
        seen.add(token.lower())
        try:
            cur = currencies.token(chain, token)
        except (UsageError, ChainError):  # one token that does not answer must not hide the others' fees
            cur = Currency(token, "units of an unreadable token", 0, known=False)
        out.append((cur, chain.call(chain.registry.functions.feeBalance(address, cur.address))))
    return out


def withdraw(chain, account, cur: Currency) -> dict:
    return chain.send(chain.registry.functions.withdrawFees(cur.address), account)


@dataclass(frozen=True)
class DisclosureOptions:
    """What `publish --out` writes into each disclosed copy (see disclosure.embed)."""

    out_dir: Path
    source_type: str = "trainedAlgorithmicMedia"  # or compositeWithTrainedAlgorithmicMedia
    label: bool = False
    signer: object = None  # disclosure.Signer for a C2PA manifest, or None
    verifier_url: str | None = None


@dataclass(frozen=True)
class PublishedFiles:
    rows: list  # one dict per image: path, file, hashes, disclosures, tx
    txs: list  # every transaction sent (an approve for a token fee, then the publications)
    fee_paid: int
    gas_used: int
    currency: Currency
    disclosed: bool  # copies were written with their disclosure
    approvals: tuple = ()  # which of `txs` were token approvals (the allowance for the fee)


def _destinations(images: list[str], out_dir: Path) -> list[Path]:
    dests = [out_dir / Path(p).name for p in images]
    clash = next((d for d in dests if d.exists()), None) or (len(set(dests)) < len(dests) and dests[0])
    if clash:
        raise UsageError(f"{clash} exists already (or two images share a name): choose an empty --out folder")
    return dests


def check_destinations(images: list[str], options: DisclosureOptions | None) -> None:
    """Before any password or gas: the disclosed copies would not overwrite anything."""
    if options is not None:
        _destinations(images, options.out_dir)


def publish_files(
    chain,
    account,
    license_id: int,
    images: list[str],
    channel: str,
    territory: str,
    transforms: list[str],
    options: DisclosureOptions | None = None,
    fingerprint_all=None,
    warn=lambda message: None,
) -> PublishedFiles:
    """Publish image files under a license. With `options`, disclosed copies are written first (AI disclosure,
    a pointer to the record, the license's training rule, a C2PA manifest) and those copies are recorded;
    without, the files are recorded as they are, with the disclosures they already carry. One transaction
    per set of disclosures. Nothing half-done: on any failure the copies (and a folder made here) are removed."""
    from . import disclosure

    if fingerprint_all is None:
        from .parallel import fingerprint_all
    written: list[Path] = []
    made_dir = False
    try:
        if options is not None:
            dests = _destinations(images, options.out_dir)
            lic = licenses.show(chain, license_id)
            pointer = disclosure.Pointer(
                chain.chain_id,
                chain.registry.address,
                lic["twin_id"],
                license_id,
                bytes.fromhex((lic["terms_hash"] or "0x" + "00" * 32)[2:]),
                training="allowed" if lic["training"] == "allowed" else "notAllowed",
                transforms=tuple(transforms),
            )
            made_dir = not options.out_dir.exists()
            options.out_dir.mkdir(parents=True, exist_ok=True)
            bits = 0
            for src, dest in zip(images, dests):
                d = disclosure.embed(
                    src,
                    dest,
                    pointer,
                    source_type=options.source_type,
                    label=options.label,
                    signer=options.signer,
                    verifier_url=options.verifier_url,
                )
                written.append(d.path)
                bits = d.applied
                for w in d.warnings:
                    warn(f"{src}: {w}")
            groups = {bits: list(zip(images, written))}
        else:
            groups: dict[int, list] = {}
            for src in images:
                groups.setdefault(disclosure.read(src).carried, []).append((src, Path(src)))
        rows, txs, fee, gas, cur, approvals = [], [], 0, 0, NATIVE, []
        for bits, pairs in groups.items():
            fps = fingerprint_all([str(f) for _, f in pairs])
            r = publish(chain, account, license_id, fps, channel, territory, transforms, bits)
            txs += [t for t in (r.approve_tx, r.tx) if t]
            approvals += [r.approve_tx] if r.approve_tx else []
            fee, gas, cur = fee + r.fee_paid, gas + r.gas_used, r.currency
            rows += [
                {
                    "path": src,
                    "file": str(f),
                    "content_hash": "0x" + fp.content_hash.hex(),
                    "pixel_hash": "0x" + fp.pixel_hash.hex(),
                    "phash": f"{fp.phash:016x}",
                    "recorded_phash": f"{fp.central_phash:016x}",
                    "disclosures": disclosure.disclosure_names(bits),
                    "tx": r.tx,
                }
                for (src, f), fp in zip(pairs, fps)
            ]
    except BaseException:
        for w in written:  # copies of a publication that was not recorded are removed
            w.unlink(missing_ok=True)
        if made_dir:
            try:
                options.out_dir.rmdir()  # the folder made here, if nothing else was put in it
            except OSError:
                pass
        raise
    return PublishedFiles(rows, txs, fee, gas, cur, options is not None, tuple(approvals))
