"""The one way Consentry talks to an EVM JSON-RPC endpoint (no web3 here: read-only commands stay fast).

    ep = Endpoint("https://base-sepolia.example/v2/KEY")
    ep.chain_id                      # asked once per process, then cached
    ep.call("eth_blockNumber")       # retried on 429 / 5xx / dropped connections, within one deadline
    ep.batch([("eth_getBlockByNumber", ["0x1", False]), ...])

What real providers do, and what this layer does about it:
- rate limits (HTTP 429, or a JSON-RPC error saying so): wait `Retry-After` (or back off exponentially
  with jitter) and retry; a rate limit is never read as "range too large";
- 5xx, timeouts, dropped connections: retry with backoff;
- a server that trickles its answer: every call has one total deadline (`CONSENTRY_RPC_DEADLINE`,
  default 60 s) enforced by a watchdog that closes the socket, retries included;
- answers larger than `CONSENTRY_RPC_MAX_BYTES` (default 64 MiB) are refused (for eth_getLogs: the
  range is shrunk instead);
- eth_getLogs caps (by block range or by result count) come back as `RangeTooLarge`, recognised by
  code and by the providers' messages, carrying the block count the provider hinted at if any;
  `RangeSizer` shrinks and grows ranges around them.
Errors name the endpoint's host only, never its path, query or credentials (API keys live there).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import re
import socket
import ssl
import threading
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from .errors import ChainError

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524}
MAX_ATTEMPTS = 8
BACKOFF_BASE, BACKOFF_CAP = 0.1, 8.0
BATCH_LIMIT = 100

# a process asks each endpoint its chain id once (a CLI invocation is a process; tests reset it)
_CHAIN_IDS: dict[str, int] = {}
_ENDPOINTS: dict[str, "Endpoint"] = {}


def reset() -> None:
    """Forget cached chain ids and connections (the CLI calls this once per invocation)."""
    for ep in _ENDPOINTS.values():
        ep.close()
    _ENDPOINTS.clear()
    _CHAIN_IDS.clear()


def host_of(url: str) -> str:
    """The host (and port) of an RPC URL: all an error message may show of it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "?"


def deadline_seconds() -> float:
    try:
        return max(0.5, float(os.environ.get("CONSENTRY_RPC_DEADLINE", "60")))
    except ValueError:
        return 60.0


def max_bytes() -> int:
    try:
        return max(1024, int(os.environ.get("CONSENTRY_RPC_MAX_BYTES", str(64 * 2**20))))
    except ValueError:
        return 64 * 2**20


class RpcError(ChainError):
    """The endpoint answered a call with a JSON-RPC error."""

    def __init__(self, method: str, host: str, error: dict):
        self.method, self.rpc_code = method, error.get("code")
        self.rpc_message, self.rpc_data = str(error.get("message", "")), error.get("data")
        super().__init__(f"{method} failed on {host}: {self.rpc_message[:300]}")


class RangeTooLarge(ChainError):
    """eth_getLogs refused a range: too many blocks or too many results. `limit` is the number of
    blocks the provider said would work (from its hint), or None."""

    def __init__(self, host: str, message: str, limit: int | None = None):
        super().__init__(f"{host} refused the eth_getLogs range: {message[:200]}")
        self.limit = limit


# ---------------------------------------------------------------- recognising provider errors

_RATE_WORDS = re.compile(
    r"rate.?limit|too many requests|request rate|exceeded .*capacity|compute units|"
    r"requests per second|throttl|daily request count",
    re.I,
)
_RANGE_WORDS = re.compile(
    r"more than \d[\d,]* results|block range|range (is )?too (large|wide|big)|limit exceeded|"
    r"too many (results|logs|blocks)|response size|exceed(s|ed)? (the )?max(imum)?|max(imum)? (block )?range|"
    r"query timeout|result set too large|limited to an? [\d,]+|range limit|returned too many",
    re.I,
)
_RANGE_CODES = {-32005, -32602, -32614, -32600, -32000, -32001, -32011, 35}
_HINT = re.compile(r"\[\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*(0x[0-9a-fA-F]+|\d+)\s*\]")
_NUMBER_LIMIT = re.compile(
    r"(?:up to an? |limited to an? |max(?:imum)? (?:block )?range(?: is| of)?:? ?|range (?:limit|max)(?: is| of)?:? ?|"
    r"exceed(?:s|ed)? (?:the )?max(?:imum)? block range:? ?)(\d[\d,]*)\s*(k)?(?:[- ]block)?",
    re.I,
)


def is_rate_limit(error: dict) -> bool:
    return error.get("code") == 429 or bool(_RATE_WORDS.search(str(error.get("message", ""))))


def range_limit(error: dict, start: int | None = None) -> tuple[bool, int | None]:
    """(is this eth_getLogs error a range/result cap?, blocks the provider hinted would work)."""
    msg = str(error.get("message", ""))
    code = error.get("code")
    if is_rate_limit(error):
        return False, None
    if not (_RANGE_WORDS.search(msg) or (code == -32005 and "result" in msg.lower())):
        return False, None
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    lo = hi = None
    m = _HINT.search(msg)
    if m:
        lo, hi = (int(x, 16) if x.startswith("0x") else int(x) for x in m.groups())
    elif "from" in data and "to" in data:
        try:
            lo, hi = (int(str(data[k]), 16) if str(data[k]).startswith("0x") else int(data[k]) for k in ("from", "to"))
        except ValueError:
            lo = hi = None
    if lo is not None and hi is not None and hi >= lo:
        return True, hi - lo + 1
    m = _NUMBER_LIMIT.search(msg)
    if m:
        n = int(m.group(1).replace(",", "")) * (1000 if m.group(2) else 1)
        return True, max(1, n)
    return True, None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class _Retry(Exception):
    """An attempt that may be repeated: `wait` is the server's Retry-After if it gave one."""

    def __init__(self, why: str, wait: float | None = None, code: str = "rpc_unreachable"):
        super().__init__(why)
        self.why, self.wait, self.code = why, wait, code


class _TooBig(Exception):
    pass


# ---------------------------------------------------------------- the endpoint


class Endpoint:
    """One JSON-RPC endpoint: a kept-alive HTTP connection, retries, a deadline per call."""

    def __init__(self, url: str, *, timeout: float | None = None):
        if not (url.startswith("http://") or url.startswith("https://")):
            raise ChainError(f"not an http(s) RPC URL (host {host_of(url)})", code="usage")
        self.url = url
        self.host = host_of(url)
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._addr = (parts.hostname or "", parts.port or (443 if self._https else 80))
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "consentry"}
        if parts.username is not None:
            cred = f"{parts.username}:{parts.password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(cred).decode()
        self.deadline = timeout or deadline_seconds()
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.RLock()
        self._ids = 0
        self.requests: Counter = Counter()  # method -> HTTP requests sent (retries included)

    @classmethod
    def for_url(cls, url: str) -> "Endpoint":
        ep = _ENDPOINTS.get(url)
        if ep is None:
            ep = _ENDPOINTS[url] = cls(url)
        return ep

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None

    # ------------------------------------------------------------ transport

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(*self._addr, timeout=timeout, context=ssl.create_default_context())
            else:
                self._conn = http.client.HTTPConnection(*self._addr, timeout=timeout)
        else:
            self._conn.timeout = timeout
            if self._conn.sock is not None:
                self._conn.sock.settimeout(timeout)
        return self._conn

    def _post_once(self, body: bytes, until: float, limit: int) -> tuple[int, dict, bytes]:
        """One HTTP POST; raises _Retry for what may be retried, _TooBig, or ChainError."""
        remaining = until - time.monotonic()
        if remaining <= 0:
            raise _Retry("deadline", code="rpc_timeout")
        fired = threading.Event()
        conn = self._connection(min(remaining, 30.0))

        def abort():  # the deadline passed: close the socket under whatever is reading it
            fired.set()
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        timer = threading.Timer(remaining, abort)
        timer.daemon = True
        timer.start()
        reused = conn.sock is not None
        try:
            conn.request("POST", self._path, body, self._headers)
            resp = conn.getresponse()
            chunks, size = [], 0
            while True:
                chunk = resp.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    self.close()
                    raise _TooBig()
                chunks.append(chunk)
            if fired.is_set():
                raise OSError("deadline")
            if resp.length:  # fewer bytes than Content-Length said: the connection dropped
                raise http.client.IncompleteRead(b"".join(chunks), resp.length)
            headers = {k.lower(): v for k, v in resp.getheaders()}
            if resp.will_close:
                self.close()
            return resp.status, headers, b"".join(chunks)
        except (_TooBig, ChainError):
            raise
        except (OSError, http.client.HTTPException) as e:
            self.close()
            if fired.is_set():
                raise _Retry("deadline", code="rpc_timeout") from None
            if reused and isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
                raise _Retry("stale", wait=0.0) from None  # a kept-alive connection the server had closed
            if isinstance(e, (ConnectionRefusedError, socket.gaierror)):
                raise _Retry(f"{type(e).__name__}: {_short(e)}", code="refused") from None
            raise _Retry(f"{type(e).__name__}: {_short(e)}") from None
        finally:
            timer.cancel()

    def post(self, payload, what: str, *, too_big=None):
        """POST a JSON-RPC payload; returns the decoded reply. Retries rate limits, 5xx, timeouts and
        dropped connections with backoff (honouring Retry-After) within one deadline."""
        body = json.dumps(payload).encode()
        with self._lock:
            until = time.monotonic() + self.deadline
            last = None
            for attempt in range(MAX_ATTEMPTS):
                self.requests[what] += 1
                try:
                    status, headers, raw = self._post_once(body, until, max_bytes())
                    if status in RETRY_STATUSES:
                        raise _Retry(
                            f"HTTP {status}",
                            _retry_after(headers.get("retry-after")),
                            "rate_limited" if status == 429 else "rpc_unreachable",
                        )
                    if status in (401, 403):
                        raise ChainError(
                            f"{self.host} refused the request (HTTP {status}): check the API key "
                            "in the RPC URL (or the variable holding it)",
                            code="rpc_unreachable",
                        )
                    if status != 200:
                        raise ChainError(
                            f"{self.host} answered HTTP {status} to {what}: check the RPC URL", code="rpc_unreachable"
                        )
                    try:
                        reply = json.loads(raw)
                    except ValueError:
                        raise ChainError(
                            f"{self.host} did not answer JSON-RPC to {what} (is it an Ethereum node's RPC URL?)",
                            code="rpc_unreachable",
                        ) from None
                    err = reply.get("error") if isinstance(reply, dict) else None
                    if isinstance(err, dict) and is_rate_limit(err):
                        raise _Retry("rate limited", None, "rate_limited")
                    if isinstance(reply, list) and any(
                        isinstance(r, dict) and isinstance(r.get("error"), dict) and is_rate_limit(r["error"]) for r in reply
                    ):
                        raise _Retry("rate limited", None, "rate_limited")
                    return reply
                except _TooBig:
                    if too_big is not None:
                        raise too_big() from None
                    raise ChainError(
                        f"{self.host} sent more than {max_bytes() // 2**20} MiB for {what}; refused "
                        "(raise CONSENTRY_RPC_MAX_BYTES if that is expected)",
                        code="rpc_unreachable",
                    )
                except _Retry as r:
                    last = r
                    if r.why == "deadline" or (r.code == "refused" and attempt >= 2):
                        break  # nobody listens there (or no such host): a few quick tries only
                    if r.why == "stale" and attempt == 0:
                        continue
                    wait = (
                        r.wait
                        if r.wait is not None
                        else min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * (0.5 + random.random() / 2)
                    )
                    if time.monotonic() + wait >= until:
                        break
                    time.sleep(wait)
            raise self._gave_up(what, last)

    def _gave_up(self, what: str, r: _Retry | None) -> ChainError:
        if r is not None and r.code == "rate_limited":
            after = f" (it asked to wait {r.wait:g} s)" if r.wait else ""
            return ChainError(
                f"{self.host} keeps rate-limiting {what}{after}: wait and retry, slow down, or use an "
                "endpoint with a higher limit",
                code="rate_limited",
            )
        if r is not None and r.code == "refused":
            r.code = "rpc_unreachable"
        if r is not None and r.code == "rpc_timeout":
            return ChainError(
                f"{self.host} did not answer {what} within {self.deadline:g} s: the endpoint is too "
                "slow or stalled (CONSENTRY_RPC_DEADLINE sets the limit)",
                code="rpc_timeout",
            )
        why = f" ({r.why})" if r is not None else ""
        return ChainError(
            f"cannot reach the RPC endpoint {self.host}{why}; check the URL and your connection", code="rpc_unreachable"
        )

    # ------------------------------------------------------------ JSON-RPC

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def raw(self, method: str, params=None, *, too_big=None) -> dict:
        """A call's JSON-RPC reply as is (an error reply too: web3 decodes reverts from it)."""
        if method == "eth_chainId" and self.url in _CHAIN_IDS:
            return {"jsonrpc": "2.0", "id": self._next_id(), "result": hex(_CHAIN_IDS[self.url])}
        rid = self._next_id()
        reply = self.post({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or []}, method, too_big=too_big)
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            raise ChainError(f"{self.host} gave no JSON-RPC answer to {method}", code="rpc_unreachable")
        if method == "eth_chainId" and "result" in reply:
            _CHAIN_IDS[self.url] = int(reply["result"], 16)
        return reply

    def call(self, method: str, params=None, *, too_big=None):
        reply = self.raw(method, params, too_big=too_big)
        if "error" in reply:
            raise RpcError(
                method, self.host, reply["error"] if isinstance(reply["error"], dict) else {"message": str(reply["error"])}
            )
        return reply["result"]

    def batch(self, calls: list[tuple[str, list]]) -> list:
        """Several calls, in batches of at most BATCH_LIMIT; results in order. A provider that refuses
        batches (or big ones) gets smaller ones, down to single calls."""
        out: list = []
        limit = BATCH_LIMIT
        i = 0
        while i < len(calls):
            chunk = calls[i : i + limit]
            if len(chunk) == 1:
                out.append(self.call(*chunk[0]))
                i += 1
                continue
            ids = [self._next_id() for _ in chunk]
            reply = self.post(
                [{"jsonrpc": "2.0", "id": n, "method": m, "params": p} for n, (m, p) in zip(ids, chunk)],
                f"a batch of {chunk[0][0]}",
            )
            if not isinstance(reply, list):  # e.g. "batch too large" or "batch not supported"
                limit = max(1, limit // 4)
                continue
            by_id = {r.get("id"): r for r in reply if isinstance(r, dict)}
            for n, (method, _) in zip(ids, chunk):
                r = by_id.get(n)
                if r is None or ("result" not in r and "error" not in r):
                    raise ChainError(f"{self.host} left {method} unanswered in a batch", code="rpc_unreachable")
                if "error" in r:
                    raise RpcError(
                        method, self.host, r["error"] if isinstance(r["error"], dict) else {"message": str(r["error"])}
                    )
                out.append(r["result"])
            i += len(chunk)
        return out

    @property
    def chain_id(self) -> int:
        if self.url not in _CHAIN_IDS:
            try:
                _CHAIN_IDS[self.url] = int(self.call("eth_chainId"), 16)
            except (TypeError, ValueError):
                raise ChainError(
                    f"{self.host} answered eth_chainId with something that is not a number: is it an Ethereum node's RPC URL?",
                    code="rpc_unreachable",
                ) from None
        return _CHAIN_IDS[self.url]

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def client_version(self) -> str:
        try:
            return str(self.call("web3_clientVersion"))
        except RpcError:
            return ""

    # ------------------------------------------------------------ logs

    def logs_once(self, flt: dict, start: int, end: int) -> list[dict]:
        """eth_getLogs for blocks start..end in one call; RangeTooLarge when the provider caps it."""
        params = [{**flt, "fromBlock": hex(start), "toBlock": hex(end)}]
        reply = self.raw("eth_getLogs", params, too_big=lambda: RangeTooLarge(self.host, "the answer was too large"))
        if "error" in reply:
            err = reply["error"] if isinstance(reply["error"], dict) else {"message": str(reply["error"])}
            is_range, limit = range_limit(err)
            if is_range:
                raise RangeTooLarge(self.host, str(err.get("message", "")), limit)
            raise RpcError("eth_getLogs", self.host, err)
        logs = reply["result"]
        if not isinstance(logs, list):
            raise ChainError(f"{self.host} answered eth_getLogs with something other than a list of logs")
        return logs

    def get_logs(self, flt: dict, sizer: "RangeSizer | None" = None) -> list[dict]:
        """eth_getLogs over any range, in as many calls as the provider's caps need."""
        if "blockHash" in flt:
            return self.call("eth_getLogs", [flt])
        tags = {}
        for key in ("fromBlock", "toBlock"):
            v = flt.get(key, "latest")
            if isinstance(v, int):
                tags[key] = v
            elif isinstance(v, str) and v.startswith("0x"):
                tags[key] = int(v, 16)
            elif v == "earliest":
                tags[key] = 0
            elif v in ("latest", None):
                tags[key] = None
            else:  # pending, safe, finalized: one call, as asked
                return self.call("eth_getLogs", [flt])
        head = None
        if tags["fromBlock"] is None or tags["toBlock"] is None:
            head = self.block_number()
        start = tags["fromBlock"] if tags["fromBlock"] is not None else head
        end = tags["toBlock"] if tags["toBlock"] is not None else head
        sizer = sizer or RangeSizer(10_000, 10_000 * 2**10)
        base = {k: v for k, v in flt.items() if k not in ("fromBlock", "toBlock")}
        out: list[dict] = []
        while start <= end:
            stop = min(end, start + sizer.size - 1)
            try:
                logs = self.logs_once(base, start, stop)
            except RangeTooLarge as e:
                if stop == start:
                    raise
                sizer.refused(stop - start + 1, e.limit)
                continue
            sizer.served(stop - start + 1, len(logs))
            out += logs
            start = stop + 1
        return out


class RangeSizer:
    """Blocks per eth_getLogs call, adapted to the provider: a refused range shrinks it (to the
    provider's hint when it gives one, else by half) and becomes a ceiling; served ranges grow it
    back (towards the ceiling, then up to `maximum`). A cap on results rather than blocks moves
    with the data, so the ceiling is forgotten after a run of successes. Rate limits never get here."""

    def __init__(self, size: int, maximum: int | None = None):
        self.size = max(1, size)
        self.maximum = max(self.size, maximum or self.size)
        self.ceiling: int | None = None  # smallest refused size
        self.streak = 0

    def refused(self, tried: int, hint: int | None = None) -> None:
        self.ceiling = tried if self.ceiling is None else min(self.ceiling, tried)
        if hint is not None and 0 < hint < tried:
            self.size = hint
            self.ceiling = min(self.ceiling, hint + 1)  # the provider told us its limit
        else:
            self.size = max(1, tried // 2)
        self.streak = 0

    def served(self, tried: int, results: int) -> None:
        self.streak += 1
        if self.streak >= 50:
            self.ceiling, self.streak = None, 0
        if tried < self.size or results > 5000:
            return  # the last, shorter range of a sync, or a dense stretch: no reason to grow
        if self.ceiling is None:
            target = self.size * 2
        else:
            target = (self.size + self.ceiling) // 2  # bisect towards the refused size
            if self.ceiling - self.size <= max(1, self.size // 20):
                target = self.size  # close enough: stop probing
        self.size = max(1, min(self.maximum, max(self.size, target)))


def _short(e: Exception) -> str:
    s = str(e) or type(e).__name__
    return re.sub(r"https?://\S+", "<url>", s)[:120]
