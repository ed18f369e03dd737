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
