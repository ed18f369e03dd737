"""Transaction fields the node does not choose for us: fees (EIP-1559 where the latest block has a
base fee, legacy gasPrice otherwise, or what --max-fee/--priority-fee/--gas-price say), nonces that
survive several commands in a row, and the "no funds" message that says which chain and how much."""

from __future__ import annotations

from dataclasses import dataclass

from . import vocab
from .endpoint import Endpoint, RpcError
from .errors import ChainError, UsageError

DEV_TIP = 10**9  # 1 gwei: dev nodes (anvil, hardhat) accept it and it saves a call


@dataclass(frozen=True)
class FeeOptions:
    max_fee: int | None = None  # EIP-1559 maxFeePerGas (wei)
    priority_fee: int | None = None  # EIP-1559 maxPriorityFeePerGas (wei)
    gas_price: int | None = None  # legacy gasPrice (wei): forces a legacy transaction

    @classmethod
    def parse(cls, max_fee: str | None, priority_fee: str | None, gas_price: str | None) -> "FeeOptions":
        if gas_price and (max_fee or priority_fee):
            raise UsageError("give --gas-price (legacy) or --max-fee/--priority-fee (EIP-1559), not both")
        p = vocab.parse_fee
        return cls(
            p(max_fee) if max_fee else None, p(priority_fee) if priority_fee else None, p(gas_price) if gas_price else None
        )


def fee_fields(ep: Endpoint, opts: FeeOptions, dev: bool) -> dict:
    """maxFeePerGas/maxPriorityFeePerGas, or gasPrice, for the next transaction."""
    if opts.gas_price is not None:
        return {"gasPrice": opts.gas_price}
    block = ep.call("eth_getBlockByNumber", ["latest", False]) or {}
    base = block.get("baseFeePerGas")
    if base is None:  # no EIP-1559 on this chain
        if opts.max_fee is not None or opts.priority_fee is not None:
            raise UsageError(f"{ep.host} has no EIP-1559 base fee: use --gas-price instead of --max-fee/--priority-fee")
        return {"gasPrice": int(ep.call("eth_gasPrice"), 16)}
    base = int(base, 16)
    tip = opts.priority_fee
    if tip is None:
        if dev:
            tip = DEV_TIP
        else:
            try:
                tip = int(ep.call("eth_maxPriorityFeePerGas"), 16)
            except (RpcError, ValueError, TypeError):
                tip = DEV_TIP
    max_fee = opts.max_fee if opts.max_fee is not None else 2 * base + tip
    if max_fee < base:
        raise UsageError(
            f"--max-fee {vocab.format_wei(max_fee)} is below the chain's base fee "
            f"{vocab.format_wei(base)} on {ep.host}: the transaction could never be included"
        )
    return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": min(tip, max_fee)}


def max_cost(tx: dict) -> int:
    price = tx.get("maxFeePerGas", tx.get("gasPrice", 0))
    return int(tx.get("gas", 0)) * int(price) + int(tx.get("value", 0))


# ---------------------------------------------------------------- nonces


def next_nonce(ep: Endpoint, address: str, floor: int = 0) -> int:
    """The node's pending count, but at least `floor`: after the node called a nonce used (a
    load-balanced provider may count from a node a block behind), the next attempt asks for more.
    Nothing is remembered across commands: a remembered nonce breaks after a reorg or on a
    restarted dev chain, and the node's count is the truth."""
    return max(floor, int(ep.call("eth_getTransactionCount", [address, "pending"]), 16))


def is_nonce_problem(message: str) -> bool:
    m = message.lower()
    return any(
        w in m
        for w in (
            "nonce too low",
            "already known",
            "replacement transaction underpriced",
            "nonce has already been used",
            "known transaction",
            "nonce too high",
        )
    )


# ---------------------------------------------------------------- funds


def is_funds_problem(message: str) -> bool:
    m = message.lower()
    return any(
        w in m
        for w in (
            "insufficient funds",
            "lack of funds",
            "insufficient balance",
            "enough funds",
            "exceeds balance",
            "balance too low",
        )
    )


def no_funds(ep: Endpoint, chain_id: int, address: str, tx: dict | None, local: bool) -> ChainError:
    """'0x.. has 0.001 ether on chain 84532 (host); this needs up to 0.003 ether (...)'."""
    try:
        balance = int(ep.call("eth_getBalance", [address, "latest"]), 16)
        have = vocab.format_wei(balance)
    except (ChainError, ValueError, TypeError):
        have = "too little"
    need = ""
    if tx and tx.get("gas"):
        price = tx.get("maxFeePerGas", tx.get("gasPrice", 0))
        need = (
            f"; this transaction needs up to {vocab.format_wei(max_cost(tx))} "
            f"(gas {int(tx['gas']):,} × {vocab.format_wei(int(price))}"
            + (f" + value {vocab.format_wei(int(tx['value']))}" if tx.get("value") else "")
            + ")"
        )
    how = (
        "make funded accounts with `consentry account create NAME --fund`"
        if local
        else "send it funds on that chain (a faucet on a testnet)"
    )
    return ChainError(
        f"insufficient funds: {address} has {have} on chain {chain_id} ({ep.host}){need}: {how}", code="insufficient_funds"
    )
