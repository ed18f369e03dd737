"""What disclosure costs: per-image embedding time (XMP only; + C2PA signing; + visible label) and file
growth on 1080-px JPEGs, then `consentry publish --out` of 100 images with XMP and C2PA signing through the
real CLI on a fresh local chain (goal: 100 images in <= 20 s on 2 cores)."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_register import make_images

from consentry import disclosure

N = int(os.environ.get("BENCH_N", "100"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def embed_costs(paths: list[str], tmp: Path) -> dict:
    ca = disclosure.make_dev_ca(tmp / "ca")
    signer = disclosure.Signer.from_files(ca.chain, ca.key)
    pointer = disclosure.Pointer(31337, "0x" + "11" * 20, 1, 1, b"\x22" * 32, transforms=("outfit",))
    out = {}
    for name, kw in (("xmp", {}), ("xmp_c2pa", {"signer": signer}), ("xmp_c2pa_label", {"signer": signer, "label": True})):
        times, growth = [], []
        for i, p in enumerate(paths[:20]):
            dest = tmp / f"{name}-{i}.jpg"
            t = time.perf_counter()
            disclosure.embed(p, dest, pointer, **kw)
            times.append((time.perf_counter() - t) * 1e3)
            growth.append(dest.stat().st_size - Path(p).stat().st_size)
        out[name] = {"ms_median": round(statistics.median(times), 1), "bytes_added_median": int(statistics.median(growth))}
    k = min(20, len(paths))
    t = time.perf_counter()
    for i in range(k):
        disclosure.read(tmp / f"xmp_c2pa-{i}.jpg")
    out["read_ms_mean"] = round((time.perf_counter() - t) * 1e3 / k, 1)
    return out


def main() -> int:
    as_json = "--json" in sys.argv[1:]
    consentry = str(Path(sys.executable).with_name("consentry"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "img").mkdir()
        paths = make_images(tmp / "img", N)
        costs = embed_costs(paths, tmp)
        env = {**os.environ, "CONSENTRY_HOME": str(tmp / "home"), "CONSENTRY_PASSWORD": "bench", "CONSENTRY_LIGHT_KDF": "1"}
        from consentry.node import free_port

        run = lambda *a: subprocess.run([consentry, *a], env=env, check=True, capture_output=True, text=True)  # noqa: E731
        run("node", "start", "--port", str(free_port()))
        try:
            run("account", "create", "model", "--fund")
            run("account", "create", "brand", "--fund")
            run("twin", "register", paths[0], "--as", "model")
            lic = json.loads(
                run(
                    "--json",
                    "license",
                    "grant",
                    "1",
                    "--to",
                    "brand",
                    "--channels",
                    "social",
                    "--territories",
                    "WW",
                    "--for",
                    "30d",
                    "--as",
                    "model",
                ).stdout
            )["license_id"]
            times = []
            for k in range(RUNS):
                t = time.perf_counter()
                out = json.loads(
                    run(
                        "--json",
                        "publish",
                        *paths,
                        "--license",
                        str(lic),
                        "--channel",
                        "social",
                        "--territory",
                        "WW",
                        "--as",
                        "brand",
                        "--out",
                        str(tmp / f"out{k}"),
                        "--c2pa-cert",
                        str(tmp / "ca" / "chain.pem"),
                        "--c2pa-key",
                        str(tmp / "ca" / "key.pem"),
                    ).stdout
                )
                times.append(time.perf_counter() - t)
                assert len(out["images"]) == N and out["images"][0]["disclosures"] == ["metadata", "c2pa"]
        finally:
            run("node", "stop")
    result = {
        "schema_version": 1,
        "embed": costs,
        f"publish_{N}_disclosed_signed_s": round(statistics.median(times), 2),
        "runs_s": [round(t, 2) for t in times],
        "images": N,
        "cpus": os.cpu_count(),
    }
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for k, v in result.items():
            if k != "schema_version":
                print(f"{k:34} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
