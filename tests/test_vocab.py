"""Human terms: names, dates, durations, fees, territories."""

import pytest

from consentry import vocab
from consentry.errors import UsageError


def test_fees():
    assert vocab.parse_fee("0.01ether") == 10**16
    assert vocab.parse_fee("10gwei") == 10 * 10**9
    assert vocab.parse_fee("12345") == 12345
    for bad in ("ten", "0.5wei", "-1", "1e18"):
        with pytest.raises(UsageError):
            vocab.parse_fee(bad)
    assert vocab.format_wei(10**16) == "0.01 ether"


def test_dates_and_durations():
    now = 1_800_000_000
    assert vocab.parse_time("90d", now=now) == now + 90 * 86400
    assert vocab.parse_time("2027-06-30", now=now) == 1814313600  # 2027-06-30T00:00:00Z
    assert vocab.parse_time("now", now=now) == now
    with pytest.raises(UsageError, match="bad date"):
        vocab.parse_time("30/06/2027", now=now)


def test_territories_pack_and_cover():
    packed = vocab.pack_territories(["EU", "US", "jp"])
    assert vocab.unpack_territories(packed) == ["EU", "US", "JP"]
    assert vocab.territory_covered(packed, "FR") and vocab.territory_covered(packed, "US")
    assert not vocab.territory_covered(packed, "GB")
    assert vocab.territory_covered(vocab.pack_territories(["WW"]), "BR")
    with pytest.raises(UsageError, match="at most 5"):
        vocab.pack_territories(["FR", "DE", "IT", "ES", "PT", "NL"])
    with pytest.raises(UsageError, match="unknown territory"):
        vocab.pack_territories(["ZZ"])
    # a publication may name a region; the license must then cover all of it
    assert vocab.territory_code("EU") == 124 and vocab.territory_code("WW") == 594
    assert vocab.territory_covered(packed, "EU") and not vocab.territory_covered(packed, "WW")
    assert not vocab.territory_covered(vocab.pack_territories(["FR", "DE"]), "EU")


def test_names_and_masks_round_trip():
    assert vocab.channel_names(vocab.channel_mask(["social", "print"])) == ["social", "print"]
    assert vocab.transform_names(vocab.transform_mask(["face", "outfit"])) == ["outfit", "face"]
    with pytest.raises(UsageError, match="choose from"):
        vocab.transform_mask(["teleport"])
