"""`consentry serve` under load, next to the CLI's cold `verify`, on the same index and image.

  serve_verifications_per_s  POST /v1/verify of one 1080-px JPEG (a re-encoded copy of a published
                             image: exact, pixel and perceptual lookups and the second stage all
                             run), CLIENTS concurrent keep-alive clients on loopback, 1 M publications,
                             the server warm (matcher in memory)
  serve_p50_ms, serve_p99_ms latency seen by the clients
  verify_cold_ms_1m          `consentry verify` of the same image in a fresh process
  in_process_ms              where a verification's time goes inside one worker (no HTTP): hashing
                             the upload (decode, pixel hash, pHash and its 50-odd crop/mirror
                             variants, second-stage probe) and the lookup + verdict

The index is bench_verify's synthetic one (kept in .cache/bench/). Every loop is bounded (a fixed
number of requests per client) and everything listens on 127.0.0.1 only. Options: --json,
--quick (100 k publications), --requests N per client (default 150), --clients N (4),
--workers N (2), --threads N (1), --runs N (3; medians reported), --profile (cProfile of the
in-process path, top functions).
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_verify  # noqa: E402  (the synthetic index and sample images, shared)

ROOT = bench_verify.ROOT
CACHE = bench_verify.CACHE


def _arg(args, name, default):
    return int(args[args.index(name) + 1]) if name in args else default


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def start_server(index: Path, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "CONSENTRY_HOME": str(CACHE / "verifier")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "consentry.serve",
            "--index",
            str(index),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("serve exited: " + proc.stderr.read().decode())
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/v1/health")
            health = json.loads(c.getresponse().read())
            c.close()
            if health.get("matcher_loaded"):
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("serve did not start within 60 s")


def load(port: int, body: bytes, ctype: str, clients: int, requests: int, warmup: int = 5) -> dict:
    """`clients` threads, each on its own keep-alive connection: warm-up, then `requests` timed posts."""
    latencies: list[float] = []
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)
    lock = threading.Lock()

    def client():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []

        def one():
            c.request("POST", "/v1/verify", body, {"Content-Type": ctype})
            resp = c.getresponse()
            data = resp.read()
            if resp.status != 200 or b'"verdict": "authorised"' not in data:
                errors.append(f"{resp.status}: {data[:200]!r}")

        for _ in range(warmup):
            one()
        barrier.wait()
        for _ in range(requests):
            t = time.perf_counter()
            one()
            mine.append((time.perf_counter() - t) * 1e3)
        c.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    latencies.sort()
    n = len(latencies)
    return {"per_s": n / wall, "p50": latencies[n // 2], "p99": latencies[min(n - 1, int(n * 0.99))], "n": n}


def in_process(index: Path, image: Path, runs: int = 40, profile: bool = False) -> dict:
    """One worker's path without HTTP: Service.query (hashing) and Verifier.verify (lookup + verdict)."""
    os.environ["CONSENTRY_HOME"] = str(CACHE / "verifier")
    from consentry.serve import Service

    service = Service(index)
    data = image.read_bytes()
    service.matcher()
    v = service.verifier()
    hashing, lookup = [], []
    for _ in range(runs):
        t = time.perf_counter()
        q = service.query("copy.jpg", data)
        t1 = time.perf_counter()
        r = v.verify("copy.jpg", q)
        t2 = time.perf_counter()
        assert r["verdict"] == "authorised", r["verdict"]
        hashing.append((t1 - t) * 1e3)
        lookup.append((t2 - t1) * 1e3)
    out = {"hashing_ms": round(statistics.median(hashing), 1), "lookup_ms": round(statistics.median(lookup), 1)}
    if profile:
        import cProfile
        import io
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        for _ in range(runs):
            service.verify([("copy.jpg", data)])
        pr.disable()
        s = io.StringIO()
        pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(15)
        out["profile"] = s.getvalue()
    return out


def main() -> int:
    args = sys.argv[1:]
    as_json, quick, profile = "--json" in args, "--quick" in args, "--profile" in args
    clients, requests = _arg(args, "--clients", 4), _arg(args, "--requests", 150)
    workers, threads, runs = _arg(args, "--workers", 2), _arg(args, "--threads", 1), _arg(args, "--runs", 3)
    n = 100_000 if quick else 1_000_000
    tag = "100k" if quick else "1m"
    CACHE.mkdir(parents=True, exist_ok=True)
    real_fp, copy = bench_verify.sample_images(CACHE / "images")
    index = CACHE / f"index-v2-{n}.db"
    bench_verify.build_index(index, n, real_fp)
    bench_verify.refresh_record(index, real_fp)
    cold, _ = bench_verify.verify_cold(index, copy, runs=5)  # also puts the synthetic model on the trust list

    from consentry import node

    port = node.free_port()
    body, ctype = multipart(copy.name, copy.read_bytes())
    proc = start_server(index, port, workers, threads)
    try:
        results = [load(port, body, ctype, clients, requests) for _ in range(runs)]
    finally:
        proc.terminate()
        proc.wait(15)
    inproc = in_process(index, copy, profile=profile)
    result = {
        "schema_version": 1,
        f"serve_verifications_per_s_{tag}": round(statistics.median(r["per_s"] for r in results), 1),
        "serve_p50_ms": round(statistics.median(r["p50"] for r in results), 1),
        "serve_p99_ms": round(statistics.median(r["p99"] for r in results), 1),
        f"verify_cold_ms_{tag}": round(cold, 1),
        "in_process_ms": {k: v for k, v in inproc.items() if k != "profile"},
        "setup": {
            "clients": clients,
            "requests_per_client": requests,
            "runs": runs,
            "workers": workers,
            "threads_per_worker": threads,
            "cores": os.cpu_count(),
            "image": "1080x720 JPEG q75 re-encode",
        },
        "runs_per_s": [round(r["per_s"], 1) for r in results],
    }
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for k, v in result.items():
            if k != "schema_version":
                print(f"{k:32} {v}")
        if profile:
            print(inproc["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
