"""The index: derived from events only, incremental, kill -9 safe, reorg-aware, reproducible."""

import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from eth_account import Account

from consentry import chain as chainmod, index, licenses, node, publications, rpc, twins
from consentry.hashing import Fingerprint

DEV_KEYS = [node.DEV_KEY, "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"]


def fake_fp(i: int) -> Fingerprint:
    h = (i * 0x9E3779B97F4A7C15) % 2**64
    return Fingerprint(i.to_bytes(32, "big"), (i * 7 + 1).to_bytes(32, "big"), h, 1, 1, central_phash=h)


@pytest.fixture
def chain_env():
    """A fresh anvil with its own registry, a twin and a license; yields (url, registry, chain, model, brand, lic)."""
    with node.EphemeralAnvil() as url:
        model, brand = (Account.from_key(k) for k in DEV_KEYS)
        address, _ = chainmod.deploy(url, model)
        ch = chainmod.connect(url, address)
        fps = [fake_fp(10**6 + i) for i in range(3)]
        reg = twins.register(ch, model, ["a", "b", "c"], fps)
        terms, _ = licenses.build_terms(
            licenses.TermsInput(
                twin_id=reg.twin_id,
                licensee=brand.address,
                channels=["social"],
                territories=["WW"],
                transforms=[],
                valid_from=ch.now(),
                valid_until=ch.now() + 86400 * 30,
                max_uses=0,
                fee_units=1000,
                purpose="Campaign images for the brand's own channels",
            )
        )
        lic, _ = licenses.grant(ch, model, terms)
        yield url, address, ch, model, brand, lic


def publish_many(ch, brand, lic, batches, per_batch, start=0):
    for b in range(batches):
        fps = [fake_fp(start + b * per_batch + i) for i in range(per_batch)]
        publications.publish(ch, brand, lic, fps, "social", "FR", [])


def sync(cli, url, registry, idx, *extra):
    return cli.json("--network", url, "--registry", registry, "--index", idx, "sync", *extra)


def synced_block(path) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05)
        row = conn.execute("SELECT value FROM meta WHERE key = 'synced_block'").fetchone()
        conn.close()
        return int(row[0]) if row else -1
    except sqlite3.Error:
        return -1


def dump(path):
    """Everything the index answers with (row ids aside), in a stable order."""
    conn = sqlite3.connect(path)
    out = {}
    for t in (*index.CHAIN_TABLES, "twin_assets"):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({t})") if r[1] != "id"]
        out[t] = sorted(conn.execute(f"SELECT {', '.join(cols)} FROM {t}").fetchall(), key=repr)
    out["synced"] = conn.execute("SELECT value FROM meta WHERE key = 'synced_block'").fetchone()
    return out


def test_sync_indexes_every_event_and_continues_incrementally(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    publish_many(ch, brand, lic, 2, 3)
    first = sync(cli, url, registry, tmp_path / "i.db")
    # the registering model's own manifest (in the data folder) is imported too
    assert first["counts"] == {"twins": 1, "licenses": 1, "publications": 6, "twin_assets": 3, "terms_documents": 0}
    publish_many(ch, brand, lic, 1, 4, start=100)
    second = sync(cli, url, registry, tmp_path / "i.db")
    assert second["from_block"] == first["to_block"] + 1
    assert second["events"] == 5  # one batch header and four images
    assert second["counts"]["publications"] == 10
    uses = sqlite3.connect(tmp_path / "i.db").execute("SELECT use_number FROM publications ORDER BY id").fetchall()
    assert [u[0] for u in uses] == list(range(1, 11))


def test_the_index_is_reproducible_from_the_chain(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    publish_many(ch, brand, lic, 3, 2)
    sync(cli, url, registry, tmp_path / "a.db")
    publish_many(ch, brand, lic, 1, 2, start=50)
    licenses.revoke(ch, model, lic, 0)
    sync(cli, url, registry, tmp_path / "a.db", "--range", "3")
    sync(cli, url, registry, tmp_path / "b.db")
    assert dump(tmp_path / "a.db") == dump(tmp_path / "b.db")


def test_an_index_belongs_to_one_registry_on_one_chain(cli, tmp_path, local_node):
    """Dev chains share chain id 31337 and deployment addresses; the genesis block tells them apart."""
    with node.EphemeralAnvil("--timestamp", "1700000000") as url:
        address, _ = chainmod.deploy(url, Account.from_key(DEV_KEYS[0]))
        assert address == local_node["registry"]
        sync(cli, url, address, tmp_path / "i.db")
    r = cli.run("--index", tmp_path / "i.db", "sync", code=1)
    assert "belongs to registry" in r.stderr


def test_kill_9_at_any_moment_then_resume_gives_the_clean_index(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    publish_many(ch, brand, lic, 60, 10)
    rpc.request(url, "anvil_mine", [hex(1500)])
    sync(cli, url, registry, tmp_path / "clean.db")
    head = rpc.block_number(url)
    cmd = [
        sys.executable,
        "-m",
        "consentry",
        "--network",
        url,
        "--registry",
        registry,
        "--index",
        str(tmp_path / "killed.db"),
        "sync",
        "--range",
        "1",
    ]
    kills = 0
    for fraction in (0.2, 0.45, 0.7):  # kill -9 once the cursor has passed each point
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            if synced_block(tmp_path / "killed.db") >= fraction * head:
                p.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.005)
        p.wait()
    assert kills >= 2, "sync finished before it could be killed"
    sync(cli, url, registry, tmp_path / "killed.db")
    assert dump(tmp_path / "killed.db") == dump(tmp_path / "clean.db")


def test_a_reorganisation_is_detected_and_reindexed(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    snap = rpc.request(url, "evm_snapshot")
    publish_many(ch, brand, lic, 2, 2, start=0)  # on the branch that will vanish
    synced = sync(cli, url, registry, tmp_path / "i.db")
    assert synced["counts"]["publications"] == 4
    assert rpc.request(url, "evm_revert", [snap]) is True
    publish_many(ch, brand, lic, 3, 1, start=500)  # the new branch: other images, more blocks
    after = sync(cli, url, registry, tmp_path / "i.db")
    assert after["reorg_from_block"] is not None
    assert after["counts"]["publications"] == 3
    sync(cli, url, registry, tmp_path / "clean.db")
    assert dump(tmp_path / "i.db") == dump(tmp_path / "clean.db")


def test_manifests_import_only_assets_proven_against_the_anchored_root(cli, new_account, photos, tmp_path, local_node):
    import json

    model, _ = new_account("model")
    cli.run("twin", "register", photos["coffee"], photos["rocket"], "--as", model, "--manifest", tmp_path / "m.json")
    m = json.loads((tmp_path / "m.json").read_text())
    m["assets"][1]["phash"] = "0" * 16  # tampered leaf: no longer proves
    (tmp_path / "t.json").write_text(json.dumps(m))
    # the model's own, good manifest is kept in the data folder: a tampered one never replaces it
    bad = cli.json("--index", tmp_path / "i.db", "sync", "--manifest", tmp_path / "t.json", code=1)
    assert "do not prove" in bad["error"] and "left in place" in bad["error"]
    # a third party without the good copy imports only the leaves that prove
    kept = twins.manifest_path(m["chain_id"], m["registry"], m["twin_id"])
    kept.unlink()
    out = cli.json("--index", tmp_path / "i2.db", "sync", "--manifest", tmp_path / "t.json")
    assert out["assets_imported"] >= 1
    conn = sqlite3.connect(tmp_path / "i2.db")
    rows = conn.execute("SELECT name, phash FROM twin_assets WHERE twin_id = ?", [m["twin_id"]]).fetchall()
    assert ("coffee.jpg" in {r[0] for r in rows}) and all(r[1] != 0 for r in rows)
    # and the good manifest, proving every asset, replaces the partial one
    cli.json("--index", tmp_path / "i2.db", "sync", "--manifest", tmp_path / "m.json")
    assert json.loads(kept.read_text())["assets"][1]["phash"] != "0" * 16


def test_schema_is_migrated_and_readable_by_plain_sqlite(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    publish_many(ch, brand, lic, 1, 1)
    sync(cli, url, registry, tmp_path / "i.db")
    conn = sqlite3.connect(tmp_path / "i.db")
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY applied_at")]
    assert tuple(names) == index.MIGRATIONS
    row = conn.execute("SELECT content_hash, phash FROM publications_readable").fetchone()
    assert row[0] == "0x" + fake_fp(0).content_hash.hex() and len(row[1]) == 16


def test_confirmations_hold_back_the_newest_blocks(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    publish_many(ch, brand, lic, 3, 1)
    head = rpc.block_number(url)
    out = sync(cli, url, registry, tmp_path / "i.db", "--confirmations", "2")
    assert out["to_block"] == head - 2
    assert out["counts"]["publications"] == 1  # the last two batches wait for confirmation
    rpc.request(url, "anvil_mine", [hex(2)])
    assert sync(cli, url, registry, tmp_path / "i.db", "--confirmations", "2")["counts"]["publications"] == 3
