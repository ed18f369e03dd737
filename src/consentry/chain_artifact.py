"""The committed registry artifact (ABI and bytecode), readable without web3."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def artifact() -> dict:
    return json.loads(resources.files("consentry").joinpath("artifacts/ConsentRegistry.json").read_text())


def abi() -> list[dict]:
    return artifact()["abi"]


@lru_cache(maxsize=1)
def test_token_artifact() -> dict:
    """The embedded chain's test USDC (OpenZeppelin ERC-20, 6 decimals, open mint)."""
    return json.loads(resources.files("consentry").joinpath("artifacts/TestUSDC.json").read_text())
