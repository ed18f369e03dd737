"""The one endpoint layer against what real providers do: rate limits with Retry-After, dropped
connections, trickling answers, huge answers, range caps in every shape, API keys in URLs."""

import time

import pytest

from consentry import endpoint, node, rpc
from consentry.endpoint import Endpoint, RangeSizer, RangeTooLarge, range_limit
from consentry.errors import ChainError
from rpcproxy import RpcProxy


@pytest.fixture(scope="module")
def anvil():
    with node.EphemeralAnvil() as url:
        yield url


@pytest.fixture(autouse=True)
def _fresh():
    endpoint.reset()
    yield
    endpoint.reset()


@pytest.mark.parametrize(
    "error, expected",
    [
        (
            {"code": -32005, "message": "query returned more than 10000 results. Try with this block range [0x10, 0x1F]."},
            (True, 16),
        ),
        (
            {"code": -32005, "message": "query returned more than 10000 results", "data": {"from": "0x0", "to": "0x63"}},
            (True, 100),
        ),
        (
            {
                "code": -32602,
                "message": "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block "
                "range ... this block range should work: [0x0, 0x7cf]",
            },
            (True, 2000),
        ),
        ({"code": -32614, "message": "eth_getLogs is limited to a 10,000 range"}, (True, 10000)),
        ({"code": -32000, "message": "block range is too wide"}, (True, None)),
        ({"code": -32600, "message": "range too large"}, (True, None)),
        ({"code": -32005, "message": "limit exceeded"}, (True, None)),
        ({"code": -32000, "message": "exceed maximum block range: 5000"}, (True, 5000)),
        ({"code": -32005, "message": "daily request count exceeded, request rate limited"}, (False, None)),
        ({"code": 429, "message": "Too Many Requests"}, (False, None)),
        ({"code": -32000, "message": "execution reverted"}, (False, None)),
    ],
)
def test_provider_range_errors_are_recognised_by_code_message_and_hint(error, expected):
    assert range_limit(error) == expected


def test_the_range_sizer_learns_a_cap_grows_back_and_never_below_the_hint():
    s = RangeSizer(2000)
    s.refused(2000, None)
    assert s.size == 1000
    s.served(1000, 10)
    assert 1000 < s.size < 2000  # probes towards the refused size, not past it
    s = RangeSizer(2000)
    s.refused(2000, 500)
    for _ in range(5):
        s.served(s.size, 10)
    assert s.size == 500  # the provider said 500: no more probing
    for _ in range(60):
        s.served(s.size, 10)
    assert s.size == 2000  # a cap on results moves with the data: forgotten after a run of successes


def test_a_429_with_retry_after_is_waited_out_and_never_shrinks_a_range(anvil):
    with RpcProxy(anvil) as proxy:
        proxy.rate_limit_every, proxy.retry_after = 2, "1"
        ep = Endpoint(proxy.url)
        ep.call("eth_blockNumber")
        t0 = time.monotonic()
        ep.logs_once({}, 0, 0)  # the 2nd request: 429, Retry-After 1 s, then served
        assert time.monotonic() - t0 >= 1.0
        assert proxy.refused["429"] == 1 and proxy.calls["eth_getLogs"] == 1


def test_dropped_connections_and_5xx_are_retried(anvil):
    with RpcProxy(anvil) as proxy:
        proxy.drop_every = 2
        ep = Endpoint(proxy.url)
        assert [ep.block_number() for _ in range(4)]
        assert proxy.refused["drop"] >= 2


def test_a_trickling_server_cannot_hang_a_command(cli, anvil, monkeypatch):
    monkeypatch.setenv("CONSENTRY_RPC_DEADLINE", "3")
    with RpcProxy(anvil) as proxy:
        proxy.trickle["eth_chainId"] = 2.0  # one byte every 2 s
        t0 = time.monotonic()
        r = cli.json("--network", proxy.url, "--registry", "0x" + "11" * 20, "license", "show", "1", code=1)
        assert time.monotonic() - t0 < 6
    assert r["error_code"] == "rpc_timeout" and "did not answer eth_chainId within 3 s" in r["error"]


def test_answers_larger_than_the_bound_are_refused_and_shrink_log_ranges(anvil, monkeypatch):
    monkeypatch.setenv("CONSENTRY_RPC_MAX_BYTES", "1024")
    ep = Endpoint(anvil)
    with pytest.raises(ChainError, match="sent more than"):
        ep.call("eth_getBlockByNumber", ["0x0", True])
    with RpcProxy(anvil) as proxy:  # an eth_getLogs answer that is too big is a range to shrink
        proxy.rewrite["eth_getLogs"] = lambda params, logs: [{"data": "0x" + "00" * 2048}]
        with pytest.raises(RangeTooLarge):
            Endpoint(proxy.url).logs_once({}, 0, 0)


def test_errors_name_the_host_never_the_path_query_or_credentials(cli):
    url = "http://user:s3cret@127.0.0.1:9/v3/APIKEY0123?token=QUERYKEY"
    for args in (
        ["--network", url, "--registry", "0x" + "11" * 20, "license", "show", "1"],
        ["--network", url, "--registry", "0x" + "11" * 20, "sync"],
    ):
        out = cli.run("--json", *args, code=1).stdout + cli.run(*args, code=1).stderr
        assert "127.0.0.1:9" in out
        for secret in ("APIKEY0123", "QUERYKEY", "s3cret", "user:", "/v3"):
            assert secret not in out, secret


def test_one_chain_id_per_command_and_license_show_does_not_ask_for_all_logs_at_once(cli, tmp_path, photos, monkeypatch, anvil):
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path))
    cli.json("--network", anvil, "account", "create", "m", "--fund")
    d = cli.json("--network", anvil, "deploy", "--as", "m", "--name", "n")
    twin = cli.json("--network", "n", "twin", "register", photos["camera"], "--as", "m")["twin_id"]
    lic = cli.json("--network", "n", "license", "grant", twin, "--to", "m", "--channels", "social", "--as", "m")
    rpc.request(anvil, "anvil_mine", [hex(1500)])
    with RpcProxy(anvil) as proxy:
        proxy.range_cap, proxy.range_style = 500, "wide"  # no hint: the range is learnt
        spans = []
        proxy.rewrite["eth_getLogs"] = lambda p, logs: (
            spans.append((int(p[0]["fromBlock"], 16), int(p[0]["toBlock"], 16))) or logs
        )
        shown = cli.json("--network", proxy.url, "--registry", d["registry"], "license", "show", lic["license_id"])
        assert shown["grantor"] == shown["model"]
        assert proxy.requests["eth_chainId"] == 1
        assert spans and all(b - a < 500 for a, b in spans) and proxy.refused["range"] >= 1
        for cmd in (["license", "show", lic["license_id"]], ["earnings", "--as", "m"], ["sync"]):
            before = proxy.requests["eth_chainId"]
            cli.json("--network", proxy.url, "--registry", d["registry"], "--index", tmp_path / "i.db", *cmd)
            assert proxy.requests["eth_chainId"] - before == 1, cmd
    spans.clear()
    with RpcProxy(anvil) as proxy:
        proxy.rewrite["eth_getLogs"] = lambda p, logs: spans.append(int(p[0]["fromBlock"], 16)) or logs
        from consentry import networks

        networks.save(
            networks.Network("viaproxy", rpc=proxy.url, chain_id=31337, registry=d["registry"], deploy_block=d["block"])
        )
        cli.json("--network", "viaproxy", "license", "show", lic["license_id"])
    assert spans and min(spans) == d["block"] > 0
