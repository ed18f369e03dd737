"""Register 1,000 1080-px JPEGs as one twin through the real CLI on a fresh local chain."""

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageEnhance
from skimage import data

N = int(os.environ.get("BENCH_N", "1000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SOURCES = ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina"]


def make_images(folder: Path, n: int = N) -> list[str]:
    rng = random.Random(7)
    bases = [Image.fromarray(getattr(data, s)()).convert("RGB") for s in SOURCES]
    paths = []
    for i in range(n):
        im = bases[i % len(bases)]
        w, h = im.size
        x0, y0 = rng.randint(0, w // 5), rng.randint(0, h // 5)
        im = im.crop((x0, y0, x0 + w * 4 // 5, y0 + h * 4 // 5))
        im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.8, 1.2))
        im = im.resize((1080, 1350), Image.Resampling.BILINEAR)
        p = folder / f"capture-{i:04d}.jpg"
        im.save(p, quality=90)
        paths.append(str(p))
    return paths


def main() -> int:
    as_json = "--json" in sys.argv[1:]
    consentry = str(Path(sys.executable).with_name("consentry"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "img").mkdir()
        paths = make_images(tmp / "img")
        env = {**os.environ, "CONSENTRY_HOME": str(tmp / "home"), "CONSENTRY_PASSWORD": "bench"}
        from consentry.node import free_port

        run = lambda *a: subprocess.run([consentry, *a], env=env, check=True, capture_output=True, text=True)  # noqa: E731
        run("node", "start", "--port", str(free_port()))
        try:
            run("account", "create", "model", "--fund")
            times = []
            for _ in range(RUNS):
                t = time.perf_counter()
                out = json.loads(run("--json", "twin", "register", *paths, "--as", "model").stdout)
                times.append(time.perf_counter() - t)
                assert out["assets"] == N
        finally:
            run("node", "stop")
    result = {
        "schema_version": 1,
        "register_1000_s": round(statistics.median(times), 2),
        "runs_s": [round(t, 2) for t in times],
        "images": N,
        "cpus": os.cpu_count(),
    }
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(
            f"register {N} 1080x1350 JPEGs as one twin: median {result['register_1000_s']} s "
            f"(runs {result['runs_s']}, target <= 20 s, {os.cpu_count()} cores)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
