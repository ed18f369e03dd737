"""Minimal JSON-RPC over urllib for chain-free fast paths (no web3 import)."""
from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass

from .errors import ChainError


def request(url: str, method: str, params: list | None = None, timeout: float = 10):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            reply = json.loads(r.read())
    except (OSError, ValueError) as e:
        raise ChainError(f"cannot reach the RPC endpoint {url} ({e}); check the URL", code="rpc_unreachable") from None
    if "error" in reply:
        raise ChainError(f"{method} failed: {reply['error'].get('message')}")
    return reply["result"]


def request_batch(url: str, calls: list[tuple[str, list]], timeout: float = 60) -> list:
    """Several JSON-RPC calls in one HTTP request; results in the order of `calls`. Any error
    (or a reply that does not answer every call) is a ChainError."""
    if not calls:
        return []
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
    req = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            replies = json.loads(r.read())
    except (OSError, ValueError) as e:
        raise ChainError(f"cannot reach the RPC endpoint {url} ({e}); check the URL", code="rpc_unreachable") from None
    if not isinstance(replies, list):
        raise ChainError("the RPC endpoint does not answer batched requests")
    by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
    out = []
    for i, (method, _) in enumerate(calls):
        r = by_id.get(i)
        if r is None or ("result" not in r and "error" not in r):
            raise ChainError(f"the RPC endpoint left {method} unanswered in a batch")
        if "error" in r:
            raise ChainError(f"{method} failed: {(r['error'] or {}).get('message')}")
        out.append(r["result"])
    return out


def block_number(url: str) -> int:
    return int(request(url, "eth_blockNumber"), 16)


@dataclass(frozen=True)
class Endpoint:
    rpc_url: str
    registry: str
    chain_id: int
    deploy_block: int


def resolve(network: str = "local", registry: str | None = None, chain_id: int | None = None) -> Endpoint:
    """Where the registry is: the local node's record, or an RPC URL with --registry; checks the
    chain id and that contract code is at the address."""
    from . import node

    deploy_block = 0
    if network == "local":
        info = node.running()
        if not info:
            raise ChainError("no local node running: start one with `consentry node start`")
        rpc_url = info["rpc_url"]
        registry = registry or info.get("registry")
        deploy_block = info.get("deploy_block") or 0
        chain_id = chain_id or info.get("chain_id")
    else:
        rpc_url = network
        if not (rpc_url.startswith("http://") or rpc_url.startswith("https://")):
            raise ChainError(f"--network takes 'local' or an http(s) RPC URL, not {network!r}")
    if not registry:
        raise ChainError("no registry address: pass --registry ADDRESS (or set CONSENTRY_REGISTRY)")
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", registry):
        raise ChainError(f"--registry {registry!r} is not an address")
    actual = int(request(rpc_url, "eth_chainId"), 16)
    if chain_id is not None and actual != chain_id:
        raise ChainError(f"wrong chain: {rpc_url} has chain id {actual}, expected {chain_id}", code="wrong_chain")
    code = request(rpc_url, "eth_getCode", [registry, "latest"])
    if code in ("0x", "", None):
        raise ChainError(f"no contract at {registry} on chain {actual}: check --registry and --network")
    return Endpoint(rpc_url, registry, actual, deploy_block)
