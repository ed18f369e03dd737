"""Currencies of license fees: the chain's native coin, or an ERC-20 token a license names.

A fee is given as `0.01ether` / `10gwei` / a number of wei (native coin), as `2.5USDC` (a token this
network knows by symbol: the network profile's tokens, or the embedded chain's test USDC), or as an
amount with `--currency ADDRESS` (any token: its symbol and decimals are read from the chain).
A token's symbol is what its contract says, so a token is named by address wherever it matters, and
one the network profile does not list is flagged."""

from __future__ import annotations

from dataclasses import dataclass

from . import vocab
from .errors import ChainError, UsageError

NATIVE_ADDRESS = "0x" + "00" * 20
_NATIVE_UNITS = {"ether", "eth", "gwei", "wei"}

ERC20_ABI = [
    {"type": "function", "name": "symbol", "stateMutability": "view", "inputs": [], "outputs": [{"type": "string"}]},
    {"type": "function", "name": "decimals", "stateMutability": "view", "inputs": [], "outputs": [{"type": "uint8"}]},
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "a", "type": "address"}],
        "outputs": [{"type": "uint256"}],
    },
    {
        "type": "function",
        "name": "allowance",
        "stateMutability": "view",
        "inputs": [{"name": "o", "type": "address"}, {"name": "s", "type": "address"}],
        "outputs": [{"type": "uint256"}],
    },
    {
        "type": "function",
        "name": "approve",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "s", "type": "address"}, {"name": "v", "type": "uint256"}],
        "outputs": [{"type": "bool"}],
    },
    {
        "type": "function",
        "name": "mint",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "v", "type": "uint256"}],
        "outputs": [],
    },
]


@dataclass(frozen=True)
class Currency:
    address: str  # NATIVE_ADDRESS for the native coin
    symbol: str
    decimals: int
    known: bool = True  # listed by the network profile (or native)

    @property
    def native(self) -> bool:
        return int(self.address, 16) == 0

    def format(self, units: int) -> str:
        if self.native and units == 0:
            return "0 ether"
        return vocab.format_units(units, self.decimals, self.symbol)

    def to_dict(self) -> dict:
        return {"currency": "native" if self.native else self.address, "symbol": self.symbol, "decimals": self.decimals}


NATIVE = Currency(NATIVE_ADDRESS, "ETH", 18)


def known_tokens(ch) -> dict[str, str]:
    """Symbol -> address of the tokens this target knows (network profile, or the embedded chain's)."""
    return {k.upper(): v for k, v in (getattr(ch, "tokens", None) or {}).items()}


def token(ch, address: str) -> Currency:
    """A token's symbol and decimals, read from its contract; ChainError when it does not answer like an ERC-20."""
    from eth_utils import to_checksum_address

    from .text import safe

    address = to_checksum_address(address)
    code = ch.w3.eth.get_code(address)
    if not code:
        raise UsageError(f"{address} is not a token contract on chain {ch.chain_id} (no code there)")
    c = ch.w3.eth.contract(address=address, abi=ERC20_ABI)
    try:
        symbol = str(ch.call(c.functions.symbol()))
        decimals = int(ch.call(c.functions.decimals()))
    except ChainError:
        raise
    except Exception:
        raise UsageError(f"{address} does not answer symbol() and decimals() like an ERC-20 token") from None
    symbol = safe(symbol)[:16] or "?"
    known = address.lower() in {a.lower() for a in known_tokens(ch).values()}
    return Currency(address, symbol, decimals, known)


def parse_fee(ch, value: str, currency: str | None, flag: str = "--fee") -> tuple[int, Currency]:
    """`--fee` (and `--currency`) as (units, currency)."""
    amount, unit = vocab.split_amount(value)
    if currency:
        if unit and unit.lower() not in _NATIVE_UNITS:
            tok = token(ch, _address(currency))
            if unit.upper() != tok.symbol.upper():
                raise UsageError(f"{flag} says {unit} but --currency {tok.address} is {tok.symbol}")
        elif unit:
            raise UsageError(f"{flag} {value!r} is in the native coin; with --currency give the amount only (e.g. 2.5)")
        tok = token(ch, _address(currency))
        return vocab.to_units(amount, tok.decimals, value), tok
    if unit is None and amount != 0:
        raise UsageError(
            f"{flag} {value!r} needs its unit: e.g. {value}wei, 0.001ether, 10gwei or 2.5USDC (a bare amount is in "
            "tokens only with --currency ADDRESS)"
        )
    if unit is None or unit.lower() in _NATIVE_UNITS:
        return vocab.parse_fee(value), NATIVE
    tokens = known_tokens(ch)
    if unit.upper() not in tokens:
        names = ", ".join(sorted(tokens)) or "none"
        raise UsageError(
            f"{flag} {value!r}: this network knows no token {unit!r} (known: {names}); give --currency ADDRESS "
            "or add it to the network profile (`consentry network add NAME --token SYMBOL=ADDRESS`)"
        )
    tok = token(ch, tokens[unit.upper()])
    if tok.symbol.upper() != unit.upper():
        raise UsageError(
            f"{flag} {value!r}: the network profile lists {tokens[unit.upper()]} as {unit.upper()}, but that contract calls "
            f"itself {tok.symbol}: fix the profile (`consentry network add NAME --token SYMBOL=ADDRESS`)"
        )
    return vocab.to_units(amount, tok.decimals, value), tok


def of(ch, address: str | None) -> Currency:
    """The currency at `address` (0 or None: native)."""
    if not address or int(address, 16) == 0:
        return NATIVE
    return token(ch, address)


def _address(value: str) -> str:
    from .schema import is_address

    if not is_address(value):
        raise UsageError(f"--currency {value!r} is not an address (0x followed by 40 hex digits)")
    return value


def contract(ch, address: str):
    return ch.w3.eth.contract(address=address, abi=ERC20_ABI)


def balance(ch, cur: Currency, owner: str) -> int:
    if cur.native:
        return int(ch.w3.eth.get_balance(owner))
    return int(ch.call(contract(ch, cur.address).functions.balanceOf(owner)))


def ensure_allowance(ch, account, cur: Currency, amount: int) -> dict | None:
    """Before a token-fee publication: the payer holds `amount` and the registry may pull it (an exact
    approve is sent when the allowance is short). Returns the approve receipt, if one was sent."""
    if cur.native or amount == 0:
        return None
    c = contract(ch, cur.address)
    held = int(ch.call(c.functions.balanceOf(account.address)))
    if held < amount:
        raise ChainError(
            f"{account.address} holds {cur.format(held)}, the fee is {cur.format(amount)}: fund it first",
            code="insufficient_funds",
        )
    if int(ch.call(c.functions.allowance(account.address, ch.address))) >= amount:
        return None
    return ch.send(c.functions.approve(ch.address, amount), account)
