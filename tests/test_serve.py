"""`consentry serve` for real: a uvicorn process (two workers) on a free loopback port over an index
synced from the session's anvil, its API called with httpx, and its page driven in headless
Chromium (Debian's package, through Playwright) — an upload, a drop, the verdict read back, and a
screenshot written to docs/verifier-page.png."""

import base64
import gc
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import Cli, _names
from consentry import imaging, node

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CONSENTRY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory, photos, local_node):
    """A twin (a capture photo) attested by an agency the verifier trusts; a license; a 1080-px look
    published under it; an altered copy of the look; one synced index."""
    cli = Cli()
    d = tmp_path_factory.mktemp("serve")
    model, brand, agency = (f"{p}{next(_names)}" for p in ("smodel", "sbrand", "sagency"))
    cli.run("account", "create", model, "--fund")
    cli.run("account", "create", brand, "--fund")
    agency_addr = cli.json("account", "create", agency, "--fund")["address"]
    capture = d / "capture.jpg"
    Image.open(photos["rocket"]).crop((0, 0, 220, 280)).save(capture, quality=90)
    twin = cli.json("twin", "register", capture, "--as", model, "--manifest", d / "twin.json")["twin_id"]
    cli.run("twin", "attest", twin, "--as", agency, "--statement", "identity checked in person")
    lic = cli.json(
        "license",
        "grant",
        twin,
        "--to",
        brand,
        "--channels",
        "social,ecommerce",
        "--territories",
        "EU,US",
        "--transforms",
        "outfit,background",
        "--for",
        "90d",
        "--as",
        model,
    )["license_id"]
    look = d / "look-01.jpg"
    # a photo no other test module publishes (the suite shares one chain, and this index syncs all of it:
    # another module's crop of the same photo would rightly be found as the same picture)
    from skimage import data

    im = Image.fromarray(data.stereo_motorcycle()[0]).convert("RGB")
    w, h = im.size
    im.crop((int(0.1 * w), 0, w, h)).resize((1080, 1080), Image.Resampling.LANCZOS).save(look, quality=92)
    pub = cli.json(
        "publish", look, "--license", lic, "--channel", "social", "--territory", "FR", "--transform", "outfit", "--as", brand
    )
    altered = d / "look-01-outfit-recoloured.jpg"
    rgb = Image.open(look).convert("RGB")
    imaging.recolour(rgb, imaging.torso_mask(rgb.size, np.random.default_rng(7)), 180).save(altered, quality=88)
    index = d / "index.db"
    cli.json("--index", index, "sync", "--manifest", d / "twin.json")
    gc.collect()  # the in-process sync's connection closes (and checkpoints) now, not in the middle of a test
    verifier = d / "verifier"
    cli.run("trust", "add", agency_addr, "--name", "North Models", "--role", "attester", env={"CONSENTRY_HOME": str(verifier)})
    return {
        "cli": cli,
        "d": d,
        "index": index,
        "verifier": verifier,
        "twin": twin,
        "lic": lic,
        "tx": pub["tx"],
        "look": look,
        "altered": altered,
        "capture": capture,
        "unknown": photos["camera"],
        "rpc_url": local_node["rpc_url"],
        "content_hash": pub["images"][0]["content_hash"],
        "phash": pub["images"][0]["phash"],
        "recorded_phash": pub["images"][0]["recorded_phash"],
    }


def _sha(path: Path) -> str:
    """Of the index and its write-ahead log: what any write would change."""
    h = hashlib.sha256(path.read_bytes())
    wal = path.with_name(path.name + "-wal")
    h.update(wal.read_bytes() if wal.exists() else b"")
    return h.hexdigest()


@pytest.fixture(scope="module")
def server(world):
    """`python -m consentry.serve` (what `consentry serve` runs) with two worker processes."""
    port = node.free_port()
    env = {**os.environ, "CONSENTRY_HOME": str(world["verifier"])}
    before = _sha(world["index"])
    log = open(world["d"] / "serve.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "consentry.serve",
            "--index",
            str(world["index"]),
            "--port",
            str(port),
            "--workers",
            "2",
            "--max-upload-mb",
            "4",
            "--max-megapixels",
            "20",
            "--rpc",
            world["rpc_url"],
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("serve did not start:\n" + (world["d"] / "serve.log").read_text())
        time.sleep(0.1)
    client = httpx.Client(base_url=base, timeout=30)
    yield {"base": base, "client": client, "proc": proc, "before": before}
    client.close()
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def post_images(server, *paths, explain=False):
    files = [("image", (Path(p).name, Path(p).read_bytes(), "image/jpeg")) for p in paths]
    return server["client"].post("/v1/verify" + ("?explain=true" if explain else ""), files=files)


def cli_verify(world, *paths, code=None):
    out = world["cli"].run(
        "--json",
        "--index",
        world["index"],
        "verify",
        *paths,
        code=code if code is not None else 0,
        env={"CONSENTRY_HOME": str(world["verifier"])},
    )
    return json.loads(out.stdout)


# ---------------------------------------------------------------- the JSON API


def test_verify_answers_the_same_object_as_the_cli(world, server):
    r = post_images(server, world["look"], world["unknown"], world["altered"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    api = r.json()
    cli = cli_verify(world, world["look"], world["unknown"], world["altered"], code=3)
    assert set(api) == set(cli)
    for a, c in zip(api["results"], cli["results"]):
        assert a["path"] == Path(c["path"]).name
        assert {k: v for k, v in a.items() if k != "path"} == {k: v for k, v in c.items() if k != "path"}
    assert [x["verdict"] for x in api["results"]] == ["authorised", "unknown", "derivative"]
    first = api["results"][0]
    assert first["license_id"] == world["lic"] and first["tx"] == world["tx"] and first["trusted"] is True
    assert "North Models" in first["trust"]


def test_a_derivative_comes_with_the_picture_of_its_differences(world, server):
    (r,) = post_images(server, world["altered"], explain=True).json()["results"]
    assert r["verdict"] == "derivative" and r["second_stage"]["confirmed"] is False
    assert r["explain"].startswith("data:image/png;base64,")
    png = Image.open(io.BytesIO(base64.b64decode(r["explain"].split(",", 1)[1])))
    assert png.format == "PNG" and png.width > png.height


def test_licenses_and_twins_read_from_the_index(world, server):
    c = server["client"]
    lic = c.get(f"/v1/licenses/{world['lic']}").json()
    assert lic["valid_now"] is True and lic["status"] == "valid" and lic["uses_recorded"] == 1
    assert lic["terms"]["channels"] == ["social", "ecommerce"] and lic["terms"]["transforms"] == ["outfit", "background"]
    twin = c.get(f"/v1/twins/{world['twin']}").json()
    assert twin["trusted"] is True and twin["licenses"] == [world["lic"]] and twin["assets_in_index"] == 1
    assert twin["attestations"][0]["name"] == "North Models"
    missing = c.get("/v1/licenses/999999")
    assert missing.status_code == 404 and missing.json()["error_code"] == "not_found"
    bad = c.get("/v1/twins/abc")
    assert bad.status_code == 400 and bad.json()["error_code"] == "usage"


def test_health_reports_the_index_and_its_lag_behind_the_chain(world, server):
    h = server["client"].get("/v1/health").json()
    conn = sqlite3.connect(f"file:{world['index']}?mode=ro", uri=True)  # read-only: the index stays byte-identical
    n = conn.execute("SELECT count(*) FROM publications").fetchone()[0]
    conn.close()
    assert h["status"] == "ok" and h["index"]["publications"] == n >= 1 and h["index"]["twins"] >= 1
    assert isinstance(h["chain"]["head"], int) and h["chain"]["lag_blocks"] >= 0
    assert h["index"]["file"] == "index.db" and str(world["d"]) not in json.dumps(h)  # no server paths


def test_several_workers_answer(world, server):
    pids = set()
    for _ in range(12):  # a new connection each time: the kernel spreads them over the workers
        r = httpx.post(server["base"] + "/v1/verify", files={"image": ("c.jpg", world["capture"].read_bytes())}, timeout=30)
        assert r.status_code == 200 and r.json()["results"][0]["verdict"] == "twin-asset"
        pids.add(httpx.get(server["base"] + "/v1/health").json()["pid"])
    assert pids and server["proc"].poll() is None


@pytest.mark.parametrize(
    "name, data, status, code",
    [
        ("notes.jpg", b"not an image at all", 400, "bad_file"),
        ("truncated.jpg", None, 400, "bad_file"),
        ("animation.gif", None, 400, "bad_file"),
        ("bomb.png", None, 413, "too_many_pixels"),
        ("huge.jpg", b"\xff" * (5 * 2**20), 413, "too_large"),
    ],
)
def test_bad_files_get_a_clear_error_never_a_traceback(world, server, name, data, status, code):
    if name == "truncated.jpg":
        data = world["look"].read_bytes()[:5000]
    elif name == "animation.gif":
        buf = io.BytesIO()
        frames = [Image.new("RGB", (32, 32), c) for c in ("red", "blue")]
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
        data = buf.getvalue()
    elif name == "bomb.png":  # 36 megapixels in a few kilobytes
        buf = io.BytesIO()
        Image.new("1", (6000, 6000)).save(buf, "PNG", optimize=True)
        data = buf.getvalue()
        assert len(data) < 100_000
    r = server["client"].post("/v1/verify", files={"image": (name, data, "application/octet-stream")})
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error_code"] == code and name.split(".")[0] in body["error"] or code == "too_large"
    assert "Traceback" not in r.text and "/tmp" not in body["error"] and "/dev/shm" not in body["error"]


def test_requests_without_an_image_are_refused_plainly(server):
    c = server["client"]
    r = c.post("/v1/verify", data={"other": "x"}, files={"nothing": ("a.txt", b"x")})
    assert r.status_code == 400 and r.json()["error_code"] == "usage"
    r = c.post("/v1/verify", content=b"{}", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "multipart" in r.json()["error"]
    r = c.get("/v1/verify")
    assert r.status_code == 405 and r.json()["error_code"] == "usage"


# ---------------------------------------------------------------- C2PA soft binding resolution


def test_c2pa_soft_binding_resolution_by_content_and_by_binding(world, server):
    c = server["client"]
    algs = c.get("/services/supportedAlgorithms").json()
    assert {a["alg"] for a in algs["fingerprints"]} >= {"org.consentry.file-sha256.1", "org.consentry.central-phash-signature.5"}
    by_content = c.post("/matches/byContent", content=world["look"].read_bytes(), headers={"content-type": "image/jpeg"}).json()
    assert len(by_content["matches"]) == 1, by_content
    (m,) = by_content["matches"]
    assert m["similarityScore"] == 100 and m["manifestId"].endswith(f":license:{world['lic']}:use:1")
    assert m["eventLog"]["transactionHash"] == world["tx"] and m["eventLog"]["topic1"] == world["content_hash"]
    value = base64.b64encode(bytes.fromhex(world["content_hash"][2:])).decode()
    by_binding = c.get("/matches/byBinding", params={"alg": "org.consentry.file-sha256.1", "value": value}).json()
    assert [x["manifestId"] for x in by_binding["matches"]] == [m["manifestId"]]
    altered = c.post("/matches/byContent", content=world["altered"].read_bytes(), headers={"content-type": "image/jpeg"}).json()[
        "matches"
    ]
    assert altered and altered[0]["manifestId"] == m["manifestId"] and altered[0]["similarityScore"] < 50
    ph = base64.b64encode(bytes.fromhex(world["recorded_phash"].removeprefix("0x"))).decode()
    near = c.post("/matches/byBinding", json={"alg": "org.consentry.central-phash-signature.5", "value": ph}).json()
    assert near["matches"][0]["manifestId"] == m["manifestId"] and near["matches"][0]["similarityScore"] < 50
    # the pHash may carry the 38-byte signature after it; 2.2's 32-byte signature is refused, not misread
    phash = bytes.fromhex(world["recorded_phash"].removeprefix("0x"))
    for extra, status in ((38, 200), (32, 400)):
        value_with_sig = base64.b64encode(phash + bytes(range(1, extra + 1))).decode()
        r = c.post("/matches/byBinding", json={"alg": "org.consentry.central-phash-signature.5", "value": value_with_sig})
        assert r.status_code == status, r.text
    assert r.json()["error_code"] == "usage" and "38-byte signature" in r.json()["error"]
    record = c.get("/manifests/" + m["manifestId"]).json()
    assert record["kind"] == "publication" and record["license"]["license_id"] == world["lic"]
    unknown = c.post("/matches/byContent", content=world["unknown"].read_bytes(), headers={"content-type": "image/jpeg"}).json()
    assert unknown == {"matches": []}
    bad = c.get("/matches/byBinding", params={"alg": "com.example.other.1", "value": value})
    assert bad.status_code == 400 and bad.json()["error_code"] == "bad_alg"


def test_the_openapi_schema_is_served(server):
    doc = server["client"].get("/openapi.json").json()
    assert doc["openapi"].startswith("3.") and {"/v1/verify", "/matches/byContent", "/matches/byBinding", "/v1/health"} <= set(
        doc["paths"]
    )


def test_the_index_is_never_written(world, server):
    post_images(server, world["look"], world["altered"])
    assert _sha(world["index"]) == server["before"]


# ---------------------------------------------------------------- the page, in Chromium


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):  # the suite's own run must not pass by skipping the browser
            pytest.fail(f"no Chromium at {CHROMIUM}: scripts/setup installs Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM}: scripts/setup installs Debian's chromium")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_the_page_checks_an_image_and_says_the_verdict_in_words(world, server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    requested = []
    page.on("request", lambda req: requested.append(req.url))
    page.goto(server["base"] + "/")
    assert page.title().startswith("Consentry")
    page.get_by_label("Choose an image").set_input_files(str(world["look"]))
    page.get_by_role("button", name="Check this image").click()
    page.wait_for_selector("#verdict")
    assert page.inner_text("#verdict") == "Authorised"
    text = page.inner_text("#result")
    assert "trusted" in text and "North Models" in text and "Brand" in text
    assert "social, ecommerce" in text and "EU, US" in text and "outfit, background" in text
    assert f"License #{world['lic']}" in text and world["tx"] in text and "AI-generated" in text
    assert page.evaluate("document.activeElement.id") == "result"  # focus moves to the verdict
    page.screenshot(path=str(tmp_path / "authorised.png"), full_page=True)
    assert all(u.startswith(server["base"]) or u.startswith("data:") for u in requested), requested


def test_dropping_a_derivative_shows_where_it_differs(world, server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server["base"] + "/")
    b64 = base64.b64encode(world["altered"].read_bytes()).decode()
    dt = page.evaluate_handle(
        """(b64) => {
        const dt = new DataTransfer();
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        dt.items.add(new File([bytes], 'look-01-outfit-recoloured.jpg', {type: 'image/jpeg'}));
        return dt; }""",
        b64,
    )
    with page.expect_navigation():
        page.dispatch_event("#drop", "drop", {"dataTransfer": dt})
    assert page.inner_text("#verdict").startswith("Altered copy")
    img = page.locator("figure img")
    assert img.get_attribute("src").startswith("data:image/png") and "differing blocks" in img.get_attribute("alt")
    assert page.evaluate("document.querySelector('figure img').naturalWidth") > 300
    assert "not covered" in page.inner_text("#result")
    shot = ROOT / "docs" / "verifier-page.png"
    tmp = shot.with_suffix(".tmp.png")
    page.screenshot(path=str(tmp), full_page=True)
    shutil.move(tmp, shot)  # the picture in the README: written by this test
    assert Image.open(shot).width == 1100


def test_the_page_is_usable_from_the_keyboard_and_reports_bad_files(world, server, browser, tmp_path):
    page = browser.new_page()
    page.goto(server["base"] + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "image"  # the first stop is the file chooser
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "submit"
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("not an image")
    page.set_input_files("#image", str(bogus))
    page.keyboard.press("Enter")
    page.wait_for_selector("#verdict")
    assert "not an image" in page.inner_text("#verdict") and "Traceback" not in page.content()
    assert page.get_attribute("#result", "role") == "alert"
