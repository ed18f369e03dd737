"""A fault-injecting JSON-RPC proxy in front of a real node, for tests.

    with RpcProxy(upstream_url) as proxy:
        proxy.rewrite["eth_getLogs"] = lambda params, result: result[:-1]   # drop the last log
        ... use proxy.url as the RPC endpoint ...

`rewrite[method](params, result) -> result` changes a successful answer (batched calls too);
`proxy.calls` counts the calls per method."""
from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RpcProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.rewrite: dict = {}
        self.calls: Counter = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                req = json.loads(body)
                up = urllib.request.Request(proxy.upstream, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(up, timeout=30) as r:
                    reply = json.loads(r.read())
                if isinstance(req, list):
                    by_id = {q["id"]: q for q in req}
                    reply = [proxy._apply(by_id.get(a.get("id"), {}), a) for a in reply]
                else:
                    reply = proxy._apply(req, reply)
                out = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

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
