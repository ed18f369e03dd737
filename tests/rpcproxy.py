"""A fault-injecting JSON-RPC proxy in front of a real node, for tests and benchmarks: it behaves the
way public providers do.

    with RpcProxy(upstream_url) as proxy:
        proxy.rewrite["eth_getLogs"] = lambda params, result: result[:-1]   # drop the last log
        proxy.range_cap, proxy.range_style = 1000, "infura"   # eth_getLogs over 1,000 blocks refused
        proxy.rate_limit_every, proxy.retry_after = 10, "1"   # every 10th HTTP request: 429
        proxy.drop_every = 7                                  # every 7th: connection closed, no answer
        proxy.trickle["eth_blockNumber"] = 2.0                # answer one byte every 2 s
        ... use proxy.url as the RPC endpoint ...

`rewrite[method](params, result) -> result` changes a successful answer (batched calls too);
`proxy.calls` counts the JSON-RPC calls answered per method; `proxy.requests` counts HTTP requests
per method (first method of a batch), refused and faulty ones included.

Range refusals in each provider's shape (`RANGE_STYLES`): Infura's -32005 with the block range to
try, Alchemy's -32602 with its hint, QuickNode's -32614 with the limit in words, and plain
"block range is too wide", "range too large" and "limit exceeded" without hints."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def _range_error(style: str, cap: int, start: int) -> dict:
    lo, hi = hex(start), hex(start + cap - 1)
    return {
        "infura": {
            "code": -32005,
            "message": f"query returned more than 10000 results. Try with this block range [{lo}, {hi}].",
            "data": {"from": lo, "to": hi, "limit": 10000},
        },
        "alchemy": {
            "code": -32602,
            "message": f"Log response size exceeded. You can make eth_getLogs requests with "
            f"up to a {cap} block range and no limit on the response size, or you "
            "can request any block range with a cap of 10K logs in the response. "
            f"Based on your parameters, this block range should work: [{lo}, {hi}]",
        },
        "quicknode": {"code": -32614, "message": f"eth_getLogs is limited to a {cap:,} range"},
        "wide": {"code": -32000, "message": "block range is too wide"},
        "large": {"code": -32600, "message": "range too large"},
        "limit": {"code": -32005, "message": "limit exceeded"},
    }[style]


RANGE_STYLES = ("infura", "alchemy", "quicknode", "wide", "large", "limit")


class RpcProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.rewrite: dict = {}
        self.calls: Counter = Counter()
        self.requests: Counter = Counter()
        self.range_cap: int | None = None
        self.range_style = "infura"
        self.rate_limit_every: int | None = None
        self.retry_after: str | None = None
        self.drop_every: int | None = None
        self.trickle: dict[str, float] = {}
        self.refused: Counter = Counter()  # kind of fault -> times injected
        self._n = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        parts = urlsplit(upstream)
        self._up = (parts.hostname, parts.port or 80)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, status: int, body: bytes, headers: dict | None = None, trickle: float = 0.0):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if trickle:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(trickle)
                else:
                    self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                req = json.loads(body)
                first = (req[0] if isinstance(req, list) and req else req).get("method") if req else None
                with proxy._lock:
                    proxy._n += 1
                    n = proxy._n
                    proxy.requests[first] += 1
                if proxy.drop_every and n % proxy.drop_every == 0:
                    proxy.refused["drop"] += 1
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if proxy.rate_limit_every and n % proxy.rate_limit_every == 0:
                    proxy.refused["429"] += 1
                    out = json.dumps(
                        {"jsonrpc": "2.0", "id": None, "error": {"code": 429, "message": "Too Many Requests"}}
                    ).encode()
                    self._send(429, out, {"Retry-After": proxy.retry_after} if proxy.retry_after else None)
                    return
                replies = proxy._answer_batch(req) if isinstance(req, list) else proxy._answer(req)
                self._send(200, json.dumps(replies).encode(), trickle=proxy.trickle.get(first, 0.0))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _upstream(self, payload):
        body = json.dumps(payload).encode()
        for attempt in range(2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(*self._up, timeout=60)
            try:
                conn.request("POST", "/", body, {"Content-Type": "application/json"})
                return json.loads(conn.getresponse().read())
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _answer_batch(self, reqs: list) -> list:
        refused = {i: r for i, r in enumerate(self._refusal(q) for q in reqs) if r is not None}
        forward = [q for i, q in enumerate(reqs) if i not in refused]
        got = self._upstream(forward) if forward else []
        by_id = {a.get("id"): a for a in got} if isinstance(got, list) else {}
        out = []
        for i, q in enumerate(reqs):
            out.append(refused[i] if i in refused else self._apply(q, by_id.get(q.get("id"), {})))
        return out

    def _answer(self, req: dict) -> dict:
        refused = self._refusal(req)
        if refused is not None:
            return refused
        return self._apply(req, self._upstream(req))

    def _refusal(self, req: dict) -> dict | None:
        method = req.get("method")
        if method == "eth_getLogs" and self.range_cap:
            f = (req.get("params") or [{}])[0]
            if "blockHash" not in f:
                start, end = (self._block(f.get(k, "latest")) for k in ("fromBlock", "toBlock"))
                if end - start + 1 > self.range_cap:
                    self.refused["range"] += 1
                    return {"jsonrpc": "2.0", "id": req.get("id"), "error": _range_error(self.range_style, self.range_cap, start)}
        return None

    def _block(self, tag) -> int:
        if isinstance(tag, str) and tag.startswith("0x"):
            return int(tag, 16)
        if tag == "earliest":
            return 0
        return int(self._upstream({"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []})["result"], 16)

    def _apply(self, req: dict, answer: dict) -> dict:
        method = req.get("method")
        self.calls[method] += 1
        f = self.rewrite.get(method)
        if f is not None and "result" in answer:
            answer = {**answer, "result": f(req.get("params"), answer["result"])}
        return answer

    def __enter__(self) -> "RpcProxy":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
