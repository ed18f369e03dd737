"""Attacks on the index and on the verdicts (issue: whose consent? conflicts, poisoning, gaps).

Each test is an attack that worked on the first registry and CLI: a log filter fooled by a caller-
chosen topic, an RPC that drops logs, a stale perceptual cache from another chain, a record made
after the date asked about."""

import shutil
import sqlite3

from eth_account import Account

from consentry import chain as chainmod, index, licenses, node, publications, rpc, twins
from rpcproxy import RpcProxy
from test_index import DEV_KEYS, chain_env, fake_fp, sync  # noqa: F401  (chain_env: a fixture)


def _with_content(fp, content: bytes):
    import dataclasses

    return dataclasses.replace(fp, content_hash=content)


def _topic(name: str) -> str:
    return next(t for t, shape in index._event_table().items() if shape.name == name)


def test_content_hashes_equal_to_event_signatures_neither_break_sync_nor_fool_a_log_filter(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    table = index._event_table()
    fps = [_with_content(fake_fp(i), bytes.fromhex(t[2:])) for i, t in enumerate(table)]
    publications.publish(ch, brand, lic, fps, "social", "FR", [])
    licenses.revoke(ch, model, lic, 0)
    out = sync(cli, url, registry, tmp_path / "i.db")
    assert out["counts"]["publications"] == len(table) and out["problems"] == []
    conn = sqlite3.connect(tmp_path / "i.db")
    assert conn.execute("SELECT count(*) FROM license_revocations").fetchone()[0] == 1
    # a generic client filtering on an event's signature gets only real events of that kind
    for topic, shape in table.items():
        logs = rpc.request(url, "eth_getLogs", [{"address": registry, "fromBlock": "0x0", "topics": [topic]}])
        for log in logs:
            index.decode_log(log, shape)  # raises when a log does not have that event's shape
        if shape.name in ("TwinWithdrawn", "AgentAppointed", "FeesWithdrawn", "TwinAttested"):
            assert logs == [], shape.name  # none of these happened
    # and each image is findable by its content hash as a Published topic
    found = rpc.request(
        url, "eth_getLogs", [{"address": registry, "fromBlock": "0x0", "topics": [_topic("Published"), _topic("TwinWithdrawn")]}]
    )
    assert len(found) == 1


def test_an_rpc_that_omits_a_revocation_fails_the_sync_loudly_and_indexes_nothing_of_that_range(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    idx = tmp_path / "i.db"
    sync(cli, url, registry, idx)
    before = index.get_meta(index.open_db(idx), "synced_block")
    publications.publish(ch, brand, lic, [fake_fp(1)], "social", "FR", [])
    licenses.revoke(ch, model, lic, 0)
    revoked = _topic("LicenseRevoked")
    with RpcProxy(url) as proxy:
        proxy.rewrite["eth_getLogs"] = lambda params, logs: [x for x in logs if x["topics"][0] != revoked]
        out = cli.json("--network", proxy.url, "--registry", registry, "--index", idx, "sync", code=1)
    assert "omitted 1 log(s)" in out["error"] and "nothing was indexed" in out["error"]
    db = index.open_db(idx)
    assert index.get_meta(db, "synced_block") == before
    assert db.execute("SELECT count(*) FROM publications").fetchone()[0] == 0
    # through an honest endpoint the same index catches up, revocation included
    assert sync(cli, url, registry, idx)["counts"]["publications"] == 1
    assert index.open_db(idx).execute("SELECT count(*) FROM license_revocations").fetchone()[0] == 1
    assert cli.json("--network", url, "--registry", registry, "--index", idx, "sync", "--check")["consistent"]


def test_a_log_from_another_address_is_refused(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env

    def forge(params, logs):
        return logs + [{**logs[0], "address": "0x" + "11" * 20}] if logs else logs

    with RpcProxy(url) as proxy:
        proxy.rewrite["eth_getLogs"] = forge
        out = cli.json("--network", proxy.url, "--registry", registry, "--index", tmp_path / "i.db", "sync", code=1)
    assert "cannot be trusted" in out["error"]


def test_a_log_that_does_not_fit_the_abi_is_skipped_and_reported_not_fatal(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    granted = _topic("LicenseGranted")

    def mangle(params, logs):
        return [{**x, "data": "0x1234"} if x["topics"][0] == granted else x for x in logs]

    with RpcProxy(url) as proxy:
        proxy.rewrite["eth_getLogs"] = mangle
        out = cli.json("--network", proxy.url, "--registry", registry, "--index", tmp_path / "i.db", "sync")
    assert len(out["problems"]) == 1 and "LicenseGranted" in out["problems"][0]
    assert out["counts"]["licenses"] == 0 and out["counts"]["twins"] == 1
    # verify warns that the index it answers from skipped something
    from PIL import Image

    Image.new("RGB", (64, 64), "red").save(tmp_path / "x.png")
    v = cli.json("--index", tmp_path / "i.db", "verify", tmp_path / "x.png", code=3)
    assert "skipped 1 registry log(s)" in v["warnings"][0]
    # --check against the honest chain names what the index misses
    bad = cli.json("--network", url, "--registry", registry, "--index", tmp_path / "i.db", "sync", "--check", code=1)
    assert "licenses" in bad["error"]


def test_a_reorganisation_between_getlogs_and_the_header_fetch_is_caught(cli, chain_env, tmp_path):
    url, registry, ch, model, brand, lic = chain_env
    publications.publish(ch, brand, lic, [fake_fp(7)], "social", "FR", [])

    def lie(params, logs):  # logs from a block hash the chain does not have (a vanished branch)
        return [{**x, "blockHash": "0x" + "ab" * 32} for x in logs]

    with RpcProxy(url) as proxy:
        proxy.rewrite["eth_getLogs"] = lie
        out = cli.json("--network", proxy.url, "--registry", registry, "--index", tmp_path / "i.db", "sync", code=1)
    assert "reorganising" in out["error"]
    assert sync(cli, url, registry, tmp_path / "i.db")["counts"]["publications"] == 1


def test_the_perceptual_cache_of_a_deleted_index_is_never_reused_for_another_chain(cli, tmp_path):
    """Every fresh local chain has the same registry address: a cache keyed by address and
    generation answered for publications of a chain the new index never saw."""
    idx = tmp_path / "index.db"
    seen = []
    for k in range(2):
        with node.EphemeralAnvil() as url:
            model, brand = (Account.from_key(key) for key in DEV_KEYS)
            address, _ = chainmod.deploy(url, model)
            seen.append(address)
            ch = chainmod.connect(url, address)
            reg = twins.register(ch, model, ["a"], [fake_fp(10**6 + k)])
            terms, _ = licenses.build_terms(
                licenses.TermsInput(
                    twin_id=reg.twin_id,
                    licensee=brand.address,
                    channels=["social"],
                    territories=["WW"],
                    transforms=[],
                    valid_from=ch.now(),
                    valid_until=ch.now() + 86400,
                    max_uses=0,
                    fee_units=0,
                    purpose="Campaign images for the brand's own channels",
                )
            )
            lic, _ = licenses.grant(ch, model, terms)
            publications.publish(ch, brand, lic, [fake_fp(100 + 50 * k)], "social", "FR", [])
            if idx.exists():
                idx.unlink()
                for extra in ("-wal", "-shm"):
                    (tmp_path / f"index.db{extra}").unlink(missing_ok=True)
            sync(cli, url, address, idx)
            db = index.open_readonly(idx)
            from consentry.verify import publication_matcher

            m = publication_matcher(db, idx)
            first_phash = fake_fp(100).phash
            hits = m.search(first_phash, 0)
            # chain 0 holds fake_fp(100); chain 1 never saw it
            assert bool(hits) == (k == 0)
    assert seen[0] == seen[1]  # the same address on both chains: the trap
    assert (tmp_path / "index.db.phash").exists()
    shutil.rmtree(tmp_path / "index.db.phash")


def test_logs_out_of_chain_order_are_refused(cli, chain_env, tmp_path):
    """Swapping two logs could flip an attest/revoke or grant/revoke sequence."""
    url, registry, ch, model, brand, lic = chain_env
    with RpcProxy(url) as proxy:
        proxy.rewrite["eth_getLogs"] = lambda params, logs: logs[::-1]
        out = cli.json("--network", proxy.url, "--registry", registry, "--index", tmp_path / "i.db", "sync", code=1)
    assert "out of chain order" in out["error"]


def test_a_forged_log_timestamp_is_refused(cli, chain_env, tmp_path):
    """`verify --at` relies on when a record was made: the log's time must be its block's."""
    url, registry, ch, model, brand, lic = chain_env
    with RpcProxy(url) as proxy:
        proxy.rewrite["eth_getLogs"] = lambda params, logs: [{**x, "blockTimestamp": "0x1"} for x in logs]
        out = cli.json("--network", proxy.url, "--registry", registry, "--index", tmp_path / "i.db", "sync", code=1)
    assert "timestamp" in out["error"]


def test_sync_check_catches_a_substituted_twin_owner_and_license_terms(cli, chain_env, tmp_path):
    """The event counter proves how many logs there are, not what they say: --check against a
    second endpoint compares what the index holds with the registry's own state."""
    url, registry, ch, model, brand, lic = chain_env
    granted, registered = _topic("LicenseGranted"), _topic("TwinRegistered")
    forged_owner = "0x" + "00" * 12 + "22" * 20

    def substitute(params, logs):
        out = []
        for x in logs:
            if x["topics"][0] == registered:
                x = {**x, "topics": [*x["topics"][:2], forged_owner]}
            if x["topics"][0] == granted:  # a worldwide licence becomes one with every channel
                data = bytearray.fromhex(x["data"][2:])
                data[32 + 31] = 0x3F
                x = {**x, "data": "0x" + data.hex()}
            out.append(x)
        return out

    idx = tmp_path / "i.db"
    with RpcProxy(url) as proxy:
        proxy.rewrite["eth_getLogs"] = substitute
        cli.json("--network", proxy.url, "--registry", registry, "--index", idx, "sync")
    bad = cli.json("--network", url, "--registry", registry, "--index", idx, "sync", "--check", code=1)
    assert "twin 1: owned by" in bad["error"] and "license 1: its terms" in bad["error"]


def test_sync_check_catches_a_substituted_fee_token(cli, chain_env, tmp_path):
    """An endpoint that rewrites a license's fee token in its LicenseGranted log (so the index would say the fee
    is in the brand's own token) is caught by --check, which asks the registry's currencyOf."""
    url, registry, ch, model, brand, lic = chain_env
    granted = _topic("LicenseGranted")

    def substitute(params, logs):
        out = []
        for x in logs:
            if x["topics"][0] == granted:
                data = bytearray.fromhex(x["data"][2:])
                data[8 * 32 + 12 : 9 * 32] = bytes.fromhex("33" * 20)  # word 8: currency
                x = {**x, "data": "0x" + data.hex()}
            out.append(x)
        return out

    idx = tmp_path / "t.db"
    with RpcProxy(url) as proxy:
        proxy.rewrite["eth_getLogs"] = substitute
        cli.json("--network", proxy.url, "--registry", registry, "--index", idx, "sync")
    bad = cli.json("--network", url, "--registry", registry, "--index", idx, "sync", "--check", code=1)
    assert "fee token" in bad["error"]


def test_a_published_log_with_bytes_after_the_signature_is_skipped_and_reported(cli, chain_env, tmp_path):
    """The Published event's second word is the signature's last 30 bytes and two zero bytes: an endpoint
    that fills those two bytes has changed the log, and its imprint is not indexed as the registry's."""
    url, registry, ch, model, brand, lic = chain_env
    publications.publish(ch, brand, lic, [fake_fp(1), fake_fp(2)], "social", "FR", [])
    published = _topic("Published")

    def pad(params, logs):
        return [{**x, "data": x["data"][:-4] + "beef"} if x["topics"][0] == published else x for x in logs]

    with RpcProxy(url) as proxy:
        proxy.rewrite["eth_getLogs"] = pad
        out = sync(cli, proxy.url, registry, tmp_path / "i.db")
    assert out["counts"]["publications"] == 0
    assert len(out["problems"]) == 2 and all("padding" in str(p) for p in out["problems"]), out["problems"]
