"""The product's vocabularies and their on-chain encodings: channels, territories,
transformations, dates and fees. See contracts/IConsentRegistry.sol for the bit layouts."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from .errors import UsageError

CHANNELS = ("social", "ecommerce", "print", "outdoor", "video", "editorial")
TRANSFORMS = ("outfit", "background", "pose", "lighting", "hair-makeup", "age", "body", "face")
MAX_TERRITORIES = 5
EU_MEMBERS = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())
# ISO 3166-1 alpha-2 codes in use (officially assigned), plus EU and WW as regions.
ISO_CODES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC
    EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK
    HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB
    LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU
    RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN
    TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split()
)
REGIONS = ("EU", "WW")


# ---------------------------------------------------------------- bitmasks


def _mask(names: list[str] | tuple[str, ...], vocab: tuple[str, ...], what: str) -> int:
    bits = 0
    for name in names:
        name = name.strip().lower()
        if not name:
            continue
        if name not in vocab:
            raise UsageError(f"unknown {what} {name!r}: choose from {', '.join(vocab)}")
        bits |= 1 << vocab.index(name)
    return bits


def _names(bits: int, vocab: tuple[str, ...]) -> list[str]:
    return [n for i, n in enumerate(vocab) if bits >> i & 1]


def channel_mask(names) -> int:
    return _mask(names, CHANNELS, "channel")


def transform_mask(names) -> int:
    return _mask(names, TRANSFORMS, "transformation")


def channel_names(bits: int) -> list[str]:
    return _names(bits, CHANNELS)


def transform_names(bits: int) -> list[str]:
    return _names(bits, TRANSFORMS)


def channel_index(name: str) -> int:
    name = name.strip().lower()
    if name not in CHANNELS:
        raise UsageError(f"unknown channel {name!r}: choose from {', '.join(CHANNELS)}")
    return CHANNELS.index(name)


def split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


# ---------------------------------------------------------------- territories


def territory_code(name: str) -> int:
    """A country's code, or a region's (EU, WW: a publication there must be covered for all of it)."""
    t = name.strip().upper()
    if t not in REGIONS and t not in ISO_CODES:
        raise UsageError(f"unknown territory {name!r}: use an ISO 3166-1 alpha-2 code (FR, US…), EU or WW")
    return (ord(t[0]) - 65) * 26 + (ord(t[1]) - 65)


def territory_name(code: int) -> str:
    return chr(65 + code // 26) + chr(65 + code % 26)


def pack_territories(names) -> int:
    codes = []
    for n in names:
        c = territory_code(n)
        if c not in codes:
            codes.append(c)
    if not codes:
        raise UsageError("a license needs at least one territory (e.g. --territories FR,DE or WW)")
    if len(codes) > MAX_TERRITORIES:
        raise UsageError(f"a license holds at most {MAX_TERRITORIES} territories; use EU or WW for wider grants")
    packed = 0
    for k, c in enumerate(codes):
        packed |= c << (10 * k)
    return packed


def unpack_territories(packed: int) -> list[str]:
    return [territory_name(c) for k in range(MAX_TERRITORIES) if (c := packed >> (10 * k) & 0x3FF)]


def territory_covered(packed: int, territory: str) -> bool:
    t = territory.upper()
    names = unpack_territories(packed)
    return t in names or "WW" in names or ("EU" in names and t in EU_MEMBERS)


# ---------------------------------------------------------------- time

_DURATION = re.compile(r"^(\d+)\s*([smhdwy])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_duration(value: str) -> int:
    m = _DURATION.match(value.strip().lower())
    if not m:
        raise UsageError(f"bad duration {value!r}: use e.g. 90d, 12w, 1y, 6h")
    return int(m.group(1)) * _UNITS[m.group(2)]


def parse_time(value: str, *, now: int) -> int:
    """An ISO date/datetime (UTC unless it says otherwise), 'now', or a duration from now."""
    v = value.strip()
    if v.lower() == "now":
        return now
    if _DURATION.match(v.lower()):
        return now + parse_duration(v)
    try:
        if len(v) == 10:
            d = date.fromisoformat(v)
            dt = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        else:
            dt = datetime.fromisoformat(v)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
    except ValueError:
        raise UsageError(f"bad date {value!r}: use an ISO date like 2027-06-30, or a duration like 90d")
    return int(dt.timestamp())


def format_time(ts: int) -> str:
    if ts >= 2**40 - 1:
        return "never"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# ---------------------------------------------------------------- fees

_FEE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(ether|eth|gwei|wei)?$")
_FEE_UNITS = {"ether": 10**18, "eth": 10**18, "gwei": 10**9, "wei": 1, None: 1}


def parse_fee(value: str) -> int:
    m = _FEE.match(value.strip().lower())
    if not m:
        raise UsageError(f"bad fee {value!r}: use e.g. 0.01ether, 10gwei or a number of wei")
    try:
        wei = Decimal(m.group(1)) * _FEE_UNITS[m.group(2)]
    except InvalidOperation:
        raise UsageError(f"bad fee {value!r}")
    if wei != wei.to_integral_value():
        raise UsageError(f"bad fee {value!r}: smaller than one wei")
    if wei >= 2**96:
        raise UsageError(f"fee {value!r} is too large")
    return int(wei)


def format_wei(wei: int) -> str:
    if wei == 0:
        return "0"
    if wei >= 10**15:
        return _decimal_text(Decimal(wei) / 10**18) + " ether"
    if wei >= 10**6:
        return _decimal_text(Decimal(wei) / 10**9) + " gwei"
    return f"{wei} wei"


def _decimal_text(d: Decimal) -> str:
    """10 -> '10', 2.50 -> '2.5': trailing zeros go only after a decimal point."""
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_AMOUNT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z][A-Za-z0-9]{0,15})?$")


def split_amount(value: str) -> tuple[Decimal, str | None]:
    """'2.5USDC' -> (Decimal('2.5'), 'USDC'); '0.01ether' -> (0.01, 'ether'); '100' -> (100, None)."""
    m = _AMOUNT.match(value.strip())
    if not m:
        raise UsageError(f"bad fee {value!r}: use e.g. 0.01ether, 10gwei, 2.5USDC or a whole number of the smallest unit")
    return Decimal(m.group(1)), m.group(2)


def to_units(amount: Decimal, decimals: int, shown: str) -> int:
    """An amount in a currency's smallest unit (2.5 USDC with 6 decimals -> 2500000)."""
    units = amount * (Decimal(10) ** decimals)
    if units != units.to_integral_value():
        raise UsageError(f"bad fee {shown!r}: finer than the currency's smallest unit ({decimals} decimals)")
    return int(units)


def format_units(units: int, decimals: int, symbol: str) -> str:
    """2500000, 6, 'USDC' -> '2.5 USDC'; the native coin (18 decimals, ETH) as format_wei does."""
    if symbol == "ETH" and decimals == 18:
        return format_wei(units)
    if units == 0:
        return f"0 {symbol}"
    return f"{_decimal_text(Decimal(units) / (Decimal(10) ** decimals))} {symbol}"
