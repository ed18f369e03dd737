"""Sync throughput through a provider-like proxy vs direct; see scripts/bench_sync.

20,000 registry events (198 publish batches of 100 images, spread over ~2,200 blocks) on a fresh
anvil; a fresh index syncs them (every log checked: ABI, block hash, timestamps, event counter)
directly, and through tests/rpcproxy.py capping eth_getLogs at 1,000 blocks (refusals without a
hint, like "block range is too wide") and answering every 10th HTTP request with 429 (no
Retry-After, as most providers send it; a second variant sends Retry-After: 1)."""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("CONSENTRY_HOME", tempfile.mkdtemp(prefix="bench-sync-"))

from consentry import chain as chainmod, endpoint, index, licenses, node, offers, rpc  # noqa: E402
from rpcproxy import RpcProxy  # noqa: E402

BATCHES, PER_BATCH, GAP = 198, 100, 10
RUNS = 3


def populate(url: str) -> tuple[str, int]:
    model = Account.from_key(node.DEV_KEY)
    address, block = chainmod.deploy(url, model)
    c = chainmod.connect(url, address)
    f = c.registry.functions
    c.send(f.registerTwin(os.urandom(32), 1, os.urandom(32), "bench"), model)
    now = c.now()
    terms, _ = licenses.build_terms(
        licenses.TermsInput(
            twin_id=1,
            licensee=model.address,
            channels=["social"],
            territories=["WW"],
            transforms=[],
            valid_from=now,
            valid_until=now + 86400 * 365,
            max_uses=0,
            fee_units=0,
            purpose="Campaign images for the brand's own channels",
        )
    )
    c.send(f.grantLicense(offers.terms_tuple(terms)), model)
    fr = 5 * 26 + 17
    width = c.call(f.IMPRINT_BYTES())
    for b in range(BATCHES):
        c.send(f.publish(1, 0, fr, 0, 0, [os.urandom(32) for _ in range(PER_BATCH)], os.urandom(width * PER_BATCH)), model)
        rpc.request(url, "anvil_mine", [hex(GAP)])
    return address, block


def one_sync(url: str, address: str, block: int, chain_id: int) -> tuple[float, int]:
    endpoint.reset()
    with tempfile.TemporaryDirectory() as d:
        db = index.open_db(Path(d) / "i.db")
        t0 = time.perf_counter()
        r = index.Syncer(db, url, address, chain_id, block, range_size=2000).run()
        return time.perf_counter() - t0, r.events


def main() -> int:
    as_json = "--json" in sys.argv[1:]
    out = {}
    with node.EphemeralAnvil() as url:
        t0 = time.perf_counter()
        address, _ = populate(url)
        block = 0  # sync from genesis: anvil serves no state before the deployment
        setup_s = time.perf_counter() - t0
        head = rpc.block_number(url)
        results = {}
        for label, cap, every, retry_after in (
            ("direct", None, None, None),
            ("proxy_1000_block_cap_429_every_10th", 1000, 10, None),
            ("proxy_same_with_retry_after_1s", 1000, 10, "1"),
        ):
            rates, events, extra = [], 0, {}
            for _ in range(RUNS):
                if cap is None:
                    secs, events = one_sync(url, address, block, 31337)
                else:
                    with RpcProxy(url) as proxy:
                        proxy.range_cap, proxy.range_style = cap, "wide"
                        proxy.rate_limit_every, proxy.retry_after = every, retry_after
                        secs, events = one_sync(proxy.url, address, block, 31337)
                        extra = {
                            "http_requests": sum(proxy.requests.values()),
                            "refused_ranges": proxy.refused["range"],
                            "answered_429": proxy.refused["429"],
                        }
                rates.append(events / secs)
            results[label] = {
                "events_per_s_median": round(statistics.median(rates)),
                "runs": [round(r) for r in rates],
                "events": events,
                **extra,
            }
        direct = results["direct"]["events_per_s_median"]
        for label, r in results.items():
            r["share_of_direct"] = round(r["events_per_s_median"] / direct, 3)
        out = {
            "schema_version": 1,
            "blocks": head - block + 1,
            "setup_seconds": round(setup_s, 1),
            "runs": RUNS,
            "results": results,
            "goal": "proxy >= 0.5 of direct",
        }
    if as_json:
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        print(f"{out['results']['direct']['events']} events over {out['blocks']} blocks, medians of {RUNS} runs:")
        for label, r in out["results"].items():
            print(
                f"  {label:40} {r['events_per_s_median']:>8,} events/s  ({r['share_of_direct']:.0%} of direct)"
                + (
                    f"  {r['http_requests']} requests, {r['refused_ranges']} ranges refused, {r['answered_429']} x 429"
                    if "http_requests" in r
                    else ""
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
