"""verify and lookup speed at scale, memory, and sync throughput.

  verify_cold_ms_1m         `consentry verify` of one 1080-px JPEG (a re-encoded copy: exact, pixel and
                            perceptual lookups all run) in a fresh process, index of 1 M publications
  lookup_exact_ms_10m       one content-hash lookup in SQLite, 10 M publications
  lookup_perceptual_ms_10m  one pHash search (multi-index, threshold 8), 10 M publications
  memory_mb_10m             peak RSS of a process that opened the 10 M index and ran those lookups
  sync_events_per_s         `sync` from a local anvil (anonymous Published events + batch headers)

Synthetic indexes are kept in .cache/bench/ between runs (--fresh rebuilds them). Medians of
several runs; --quick uses 100 k / 1 M publications instead of 1 M / 10 M.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"


def build_index(path: Path, n: int, real_fp) -> None:
    """An index with n random publications under one license, plus the real image's record."""
    from consentry import index

    if path.exists():
        return
    tmp = path.with_name(path.name + ".building")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    db = index.open_db(tmp)
    db.execute("DROP INDEX publications_content")
    db.execute("DROP INDEX publications_pixels")
    with db.atomic():
        for k, v in {
            "registry": "0x" + "ab" * 20,
            "chain_id": 31337,
            "genesis": "0x00",
            "deploy_block": 0,
            "synced_block": 1000,
            "generation": 1,
            "index_id": f"bench-{n}",
        }.items():
            index.set_meta(db, k, v)
        db.execute(
            "INSERT INTO twins VALUES (1, ?, ?, 1, ?, '', 1, 1700000000, '0x01')",
            ["0x" + "11" * 20, "0x" + "22" * 32, "0x" + "33" * 32],
        )
        db.execute(
            "INSERT INTO licenses VALUES (1, 1, ?, ?, 1, 1, 594, 1700000000, 4000000000, 0, '0', ?, 2, 1700000000,"
            " '0x02', NULL, 0)",  # ... currency (native), flags
            ["0x" + "44" * 20, "0x" + "11" * 20, "0x" + "55" * 32],
        )
    rng = np.random.default_rng(1)
    chunk = 500_000
    conn = db.conn
    conn.execute("PRAGMA synchronous=OFF")
    done = 0
    while done < n:
        m = min(chunk, n - done)
        content = rng.bytes(32 * m)
        pixels = rng.bytes(16 * m)
        phash = rng.integers(-(2**63), 2**63 - 1, size=m, dtype=np.int64).tolist()
        rows = (
            (
                1,
                content[32 * i : 32 * i + 32],
                pixels[16 * i : 16 * i + 16],
                phash[i],
                0,
                131,
                0,
                done + i + 1,
                10 + (done + i) // 100,
                1700000000,
                "0x03",
                i % 100,
            )
            for i in range(m)
        )
        with db.atomic():
            conn.executemany(
                "INSERT INTO publications (license_id, content_hash, pixel_prefix, phash, channel,"
                " territory, transforms, use_number, block, block_time, tx, log_index)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        done += m
        print(f"  built {done:,} / {n:,} publications", file=sys.stderr)
    with db.atomic():
        conn.execute(
            "INSERT INTO publications (license_id, content_hash, pixel_prefix, phash, channel, territory,"
            " transforms, use_number, block, block_time, tx, log_index, signature) VALUES (1,?,?,?,0,131,0,"
            "?,9,1700000000,'0x04',0,?)",
            [real_fp.content_hash, real_fp.pixel_hash[:16], index._signed64(real_fp.central_phash), n + 1, real_fp.signature],
        )
    print("  creating indexes", file=sys.stderr)
    conn.execute("CREATE INDEX publications_content ON publications(content_hash)")
    conn.execute("CREATE INDEX publications_pixels ON publications(pixel_prefix)")
    conn.close()
    from consentry import verify

    db = index.open_db(tmp)
    verify.publication_matcher(db, tmp)  # the perceptual cache, as the first verify would build it
    db.conn.close()
    os.replace(tmp, path)
    os.replace(tmp.with_name(tmp.name + ".phash"), path.with_name(path.name + ".phash"))


def refresh_record(path: Path, real_fp) -> None:
    """The real image's record carries the signature and recorded (central) pHash of the current definition
    (cached indexes outlive it); the perceptual cache is rebuilt as the first verify would build it."""
    import shutil
    import sqlite3

    from consentry import index, verify

    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE publications SET signature = ?, phash = ? WHERE tx = '0x04'",
            [real_fp.signature, index._signed64(real_fp.central_phash)],
        )
    conn.close()
    shutil.rmtree(verify._cache_dir(path), ignore_errors=True)  # a row changed under its stamp
    db = index.open_db(path)
    verify.publication_matcher(db, path)
    db.conn.close()


def sample_images(folder: Path):
    from PIL import Image
    from skimage import data

    from consentry import hashing, imaging

    folder.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(data.coffee()).convert("RGB")
    im = im.resize((1080, 720), Image.Resampling.LANCZOS)
    original = folder / "published.jpg"
    im.save(original, quality=92)
    copy = folder / "found-copy.jpg"
    copy.write_bytes(imaging.variants(original)["jpeg-q75"])
    return hashing.fingerprint(original), copy


def lookup_process(path: Path, queries: int = 200) -> dict:
    """Runs in a fresh interpreter: open, load the matcher, time lookups, report peak memory."""
    code = f"""
import json, resource, sqlite3, statistics, time
from pathlib import Path
import numpy as np
from consentry import index, verify
path = Path({str(path)!r})
db = index.open_readonly(path)
t0 = time.perf_counter(); m = verify.publication_matcher(db, path); load_ms = (time.perf_counter() - t0) * 1e3
n = db.execute("SELECT max(id) FROM publications").fetchone()[0]
rng = np.random.default_rng(2)
ids = rng.integers(1, n, size={queries}).tolist()
hashes = [db.execute("SELECT content_hash, phash FROM publications WHERE id = ?", [i]).fetchone() for i in ids]
ex = []
for h, _ in hashes:
    t = time.perf_counter(); r = db.execute("SELECT id FROM publications WHERE content_hash = ?", [h]).fetchall()
    ex.append((time.perf_counter() - t) * 1e3); assert r
pe = []
for _, p in hashes:
    q = (p & (2**64 - 1)) ^ 0b1011  # a near copy: 3 bits flipped
    t = time.perf_counter(); r = m.search(q, 8); pe.append((time.perf_counter() - t) * 1e3); assert r
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"exact": statistics.median(ex), "perceptual": statistics.median(pe), "rss": rss, "load": load_ms}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def verify_cold(path: Path, image: Path, runs: int = 7) -> tuple[float, list[float]]:
    """A verifier that trusts the synthetic twin's owner (so the copy comes out authorised)."""
    consentry = str(Path(sys.executable).with_name("consentry"))
    # as installed: byte-compiled modules (a first run writes them), not recompiled on every start
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["CONSENTRY_HOME"] = str(CACHE / "verifier")
    subprocess.run(
        [consentry, "trust", "add", "0x" + "11" * 20, "--name", "bench model"], env=env, check=True, capture_output=True
    )
    subprocess.run([consentry, "--json", "--index", str(path), "verify", str(image)], capture_output=True, env=env)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(
            [consentry, "--json", "--index", str(path), "verify", str(image)], capture_output=True, text=True, env=env
        )
        times.append((time.perf_counter() - t) * 1e3)
        res = json.loads(r.stdout)["results"][0]
        assert r.returncode == 0 and res["match"] == "perceptual" and res["verdict"] == "authorised", r.stdout
    return statistics.median(times), times


def sync_rate(runs: int = 3, txs: int = 100, per_tx: int = 200) -> tuple[float, int]:
    import tempfile

    from eth_account import Account

    from consentry import chain as chainmod, index, licenses, node, publications, twins
    from consentry.hashing import Fingerprint

    keys = [node.DEV_KEY, "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"]
    model, brand = (Account.from_key(k) for k in keys)
    rng = np.random.default_rng(3)
    with node.EphemeralAnvil("--gas-limit", "100000000") as url, tempfile.TemporaryDirectory() as tmp:
        os.environ["CONSENTRY_HOME"] = tmp
        address, block = chainmod.deploy(url, model)
        ch = chainmod.connect(url, address)
        twins.register(ch, model, ["x"], [Fingerprint(b"\1" * 32, b"\2" * 32, 3, 1, 1)])
        terms, _ = licenses.build_terms(
            licenses.TermsInput(
                1,
                brand.address,
                ["social"],
                ["WW"],
                [],
                ch.now(),
                ch.now() + 10**7,
                0,
                0,
                "Benchmark images for the brand channels",
            )
        )
        lic, _ = licenses.grant(ch, model, terms)
        for t in range(txs):
            fps = [Fingerprint(rng.bytes(32), rng.bytes(32), int(rng.integers(0, 2**63)), 1, 1) for _ in range(per_tx)]
            publications.publish(ch, brand, lic, fps, "social", "FR", [])
        rates = []
        for r in range(runs):
            db = index.open_db(Path(tmp) / f"sync{r}.db")
            res = index.Syncer(db, url, address, ch.chain_id, block).run()
            rates.append(res.events / res.seconds)
            events = res.events
    return statistics.median(rates), events


def main() -> int:
    args = sys.argv[1:]
    as_json, quick = "--json" in args, "--quick" in args
    n1, n10 = (100_000, 1_000_000) if quick else (1_000_000, 10_000_000)
    CACHE.mkdir(parents=True, exist_ok=True)
    if "--fresh" in args:
        import shutil

        shutil.rmtree(CACHE)
        CACHE.mkdir(parents=True)
    real_fp, copy = sample_images(CACHE / "images")
    small, large = CACHE / f"index-v2-{n1}.db", CACHE / f"index-v2-{n10}.db"
    build_index(small, n1, real_fp)
    refresh_record(small, real_fp)
    cold, cold_runs = verify_cold(small, copy)
    build_index(large, n10, real_fp)
    looks = [lookup_process(large) for _ in range(3)]
    rate, events = sync_rate()
    tag1, tag10 = ("100k", "1m") if quick else ("1m", "10m")
    result = {
        "schema_version": 1,
        f"verify_cold_ms_{tag1}": round(cold, 1),
        f"lookup_exact_ms_{tag10}": round(statistics.median(x["exact"] for x in looks), 3),
        f"lookup_perceptual_ms_{tag10}": round(statistics.median(x["perceptual"] for x in looks), 3),
        f"memory_mb_{tag10}": round(statistics.median(x["rss"] for x in looks), 1),
        f"matcher_load_ms_{tag10}": round(statistics.median(x["load"] for x in looks), 1),
        "sync_events_per_s": round(rate),
        "sync_events": events,
        "verify_cold_runs_ms": [round(t) for t in cold_runs],
    }
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for k, v in result.items():
            if k != "schema_version":
                print(f"{k:28} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
