"""Minimal JSON-RPC over urllib for chain-free fast paths (no web3 import)."""
from __future__ import annotations

import json
import urllib.request

from .errors import ChainError


def request(url: str, method: str, params: list | None = None, timeout: float = 10):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            reply = json.loads(r.read())
    except (OSError, ValueError) as e:
        raise ChainError(f"cannot reach the RPC endpoint {url} ({e}); check the URL") from None
    if "error" in reply:
        raise ChainError(f"{method} failed: {reply['error'].get('message')}")
    return reply["result"]


def block_number(url: str) -> int:
    return int(request(url, "eth_blockNumber"), 16)
