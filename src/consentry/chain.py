"""Talking to an EVM JSON-RPC endpoint through web3, over the one endpoint layer (`endpoint.py`):
connect, check the chain and the registry, deploy, send signed transactions, and turn the registry's
custom-error reverts into readable errors. web3 is imported here and in nothing that a chain-free
command loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, Web3RPCError
from web3.providers.base import JSONBaseProvider

from . import node, txs
from .chain_artifact import artifact
from .endpoint import Endpoint, RangeSizer
from .errors import ChainError, Reverted, UsageError
from .revert_messages import describe_revert

GAS_HEADROOM = 1.2


@lru_cache(maxsize=1)
def _error_table() -> dict[bytes, tuple[str, list[dict]]]:
    table = {}
    for item in artifact()["abi"]:
        if item["type"] == "error":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            table[Web3.keccak(text=sig)[:4]] = (item["name"], item["inputs"])
    return table


def decode_revert(data) -> tuple[str, dict] | None:
    """Decode revert data into (error name, {arg: value}), or None if it is not a registry error."""
    from eth_abi import decode

    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))
    if not data or len(data) < 4:
        return None
    entry = _error_table().get(bytes(data[:4]))
    if not entry:
        return None
    name, inputs = entry
    values = decode([i["type"] for i in inputs], bytes(data[4:]))
    return name, {i["name"]: Web3.to_checksum_address(v) if i["type"] == "address" else v for i, v in zip(inputs, values)}


def _revert_from(exc: Exception) -> Reverted:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    decoded = decode_revert(data) if isinstance(data, (str, bytes)) else None
    if decoded:
        name, args = decoded
        return Reverted(describe_revert(name, args), name, args)
    return Reverted(f"the registry refused the transaction: {exc}")


class EndpointProvider(JSONBaseProvider):
    """web3's requests go through the one endpoint layer: its retries, deadline and host-only
    errors, the process's cached chain id, and eth_getLogs split into ranges the provider accepts."""

    def __init__(self, ep: Endpoint, log_range: int | None = None):
        super().__init__()
        self.ep = ep
        self.log_range = log_range

    def make_request(self, method, params):
        if method == "eth_getLogs" and params and isinstance(params[0], dict):
            size = self.log_range or 10_000
            logs = self.ep.get_logs(params[0], RangeSizer(size, size if self.log_range else size * 2**10))
            return {"jsonrpc": "2.0", "id": 0, "result": logs}
        return self.ep.raw(method, params)

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def web3_for(ep: Endpoint, log_range: int | None = None) -> Web3:
    return Web3(EndpointProvider(ep, log_range))


@dataclass
class Chain:
    w3: Web3
    registry: object  # web3 Contract
    chain_id: int
    rpc_url: str
    deploy_block: int
    ep: Endpoint | None = None
    fees: txs.FeeOptions = field(default_factory=txs.FeeOptions)
    local: bool = False
    dev: bool = False  # a development node (anvil, hardhat): fixed tip, --fund allowed
    tokens: dict = field(default_factory=dict)  # fee tokens this target knows, by symbol

    def __post_init__(self):
        if self.ep is None:
            self.ep = Endpoint.for_url(self.rpc_url)

    @property
    def address(self) -> str:
        return self.registry.address

    def call(self, fn):
        try:
            return fn.call()
        except (ContractCustomError, ContractLogicError) as e:
            raise _revert_from(e) from None

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def send(self, fn, account, value: int = 0) -> dict:
        """Sign and send a contract call; return the receipt. Reverts are decoded before sending."""
        sender = account.address
        tx = {"from": sender, "value": value, "chainId": self.chain_id}
        try:
            gas = fn.estimate_gas(tx)
        except (ContractCustomError, ContractLogicError, ContractPanicError) as e:
            raise _revert_from(e) from None
        except Web3RPCError as e:
            if txs.is_funds_problem(str(e)):
                raise txs.no_funds(self.ep, self.chain_id, sender, {**tx, "gas": 0}, self.local) from None
            raise _rpc_error(e, self) from None
        fields = {**tx, "gas": int(gas * GAS_HEADROOM), **txs.fee_fields(self.ep, self.fees, self.dev)}
        return self.send_raw(fn.build_transaction({**fields, "nonce": 0}), account)

    def send_raw(self, tx: dict, account) -> dict:
        """Fill fees and nonce if missing, sign, send, wait for the receipt. A nonce the node calls
        used (another command or wallet got there first) is fetched again, twice at most."""
        tx = dict(tx)
        if "maxFeePerGas" not in tx and "gasPrice" not in tx:
            tx.update(txs.fee_fields(self.ep, self.fees, self.dev))
        floor = 0
        for attempt in range(3):
            tx["nonce"] = txs.next_nonce(self.ep, account.address, floor)
            signed = account.sign_transaction(tx)
            tx_hash = bytes(signed.hash)
            try:
                self.w3.eth.send_raw_transaction(signed.raw_transaction)
                break
            except Web3RPCError as e:
                msg = str(e)
                if txs.is_funds_problem(msg):
                    raise txs.no_funds(self.ep, self.chain_id, account.address, tx, self.local) from None
                if not txs.is_nonce_problem(msg) or attempt == 2:
                    raise _rpc_error(e, self) from None
                # a resend after a dropped connection finds its own transaction: wait for that one
                # (never send the same action twice); otherwise the nonce was taken: take the next
                if (
                    "already known" in msg.lower()
                    or "known transaction" in msg.lower()
                    or self.ep.call("eth_getTransactionByHash", ["0x" + tx_hash.hex()]) is not None
                ):
                    break
                floor = tx["nonce"] + 1
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=300, poll_latency=0.2)
        except Exception as e:  # web3's TimeExhausted
            if isinstance(e, ChainError):
                raise
            raise ChainError(
                f"transaction 0x{tx_hash.hex()} was sent but not mined within 5 minutes on "
                f"{self.ep.host}: check it later, or send again with a higher --max-fee"
            ) from None
        if receipt["status"] != 1:
            raise Reverted(f"transaction 0x{tx_hash.hex()} reverted")
        return receipt


def _rpc_error(e: Exception, ch: "Chain") -> ChainError:
    resp = getattr(e, "rpc_response", None)
    err = resp.get("error") if isinstance(resp, dict) else None
    msg = err.get("message") if isinstance(err, dict) else None
    if not msg:
        import ast

        msg = str(e)
        try:  # web3 puts the error object's repr in the text
            parsed = ast.literal_eval(msg)
            msg = parsed.get("message", msg) if isinstance(parsed, dict) else msg
        except (ValueError, SyntaxError):
            pass
    return ChainError(f"the node at {ch.ep.host} refused the transaction: {str(msg)[:200]}")


def _is_dev_node(ep: Endpoint) -> bool:
    v = ep.client_version().lower()
    return any(w in v for w in ("anvil", "hardhat", "ganache", "ethereumjs testrpc"))


def connect(
    network: str = "local", registry: str | None = None, chain_id: int | None = None, fees: txs.FeeOptions | None = None
) -> Chain:
    """Connect to the local node (`local`), an RPC URL or a saved network, and check the registry:
    one eth_chainId (per process) and one version() call."""
    from .rpc import resolve

    r = resolve(network, registry, chain_id)
    w3 = web3_for(r.ep, r.target.log_range)
    contract = w3.eth.contract(address=Web3.to_checksum_address(r.registry), abi=artifact()["abi"])
    dev = r.target.local or r.chain_id in node.DEV_CHAIN_IDS
    return Chain(
        w3=w3,
        registry=contract,
        chain_id=r.chain_id,
        rpc_url=r.rpc_url,
        deploy_block=r.deploy_block,
        ep=r.ep,
        fees=fees or txs.FeeOptions(),
        local=r.target.local,
        dev=dev,
        tokens=dict(r.target.tokens or {}),
    )


def bare(url: str, fees: txs.FeeOptions | None = None, local: bool = False) -> Chain:
    """A chain without a registry (for deploying and funding)."""
    ep = Endpoint.for_url(url)
    chain_id = ep.chain_id
    return Chain(
        w3=web3_for(ep),
        registry=None,
        chain_id=chain_id,
        rpc_url=url,
        deploy_block=0,
        ep=ep,
        fees=fees or txs.FeeOptions(),
        local=local,
        dev=local or chain_id in node.DEV_CHAIN_IDS,
    )


@dataclass(frozen=True)
class Deployed:
    registry: str
    block: int
    tx: str
    chain_id: int
    gas_used: int
    version: str


def deploy(rpc_url: str, account, fees: txs.FeeOptions | None = None, local: bool = False) -> tuple[str, int]:
    """Deploy the registry from the committed artifact; returns (address, block number)."""
    d = deploy_checked(bare(rpc_url, fees, local), account)
    return d.registry, d.block


def deploy_checked(ch: Chain, account) -> Deployed:
    """Deploy, wait for the receipt, then prove this node runs the code: version() must answer."""
    from .rpc import evm_unsupported

    art = artifact()
    tx = {"from": account.address, "chainId": ch.chain_id, "value": 0, "data": art["bytecode"]}
    try:
        gas = int(ch.w3.eth.estimate_gas(tx))
    except (ContractLogicError, Web3RPCError) as e:
        msg = str(e)
        if txs.is_funds_problem(msg):
            raise txs.no_funds(ch.ep, ch.chain_id, account.address, None, ch.local) from None
        raise evm_unsupported(ch.ep, f"deployment fails: {msg[:80]}") from None
    try:
        receipt = ch.send_raw({**tx, "gas": int(gas * GAS_HEADROOM)}, account)
    except Reverted:
        raise evm_unsupported(ch.ep, "the deployment reverted") from None
    address = receipt["contractAddress"]
    contract = ch.w3.eth.contract(address=address, abi=art["abi"])
    try:
        version = contract.functions.version().call()
    except ChainError:
        raise
    except Exception as e:  # invalid opcode, empty code, undecodable answer
        raise evm_unsupported(ch.ep, f"version() fails on the deployed code: {str(e)[:60]}") from None
    return Deployed(
        address,
        receipt["blockNumber"],
        "0x" + bytes(receipt["transactionHash"]).hex(),
        ch.chain_id,
        receipt["gasUsed"],
        str(version),
    )


def deploy_local(rpc_url: str, existing: str | None, tokens: dict | None = None) -> tuple[str, int, dict]:
    """For node.start: deploy the registry and the test USDC unless they survive in the persisted state."""
    from eth_account import Account

    from . import rpc
    from .errors import ChainError

    ep = Endpoint.for_url(rpc_url)
    address = block = None
    if existing and ep.call("eth_getCode", [existing, "latest"]) not in ("0x", "", None):
        try:
            rpc.check_registry(ep, existing, ep.chain_id)
            address, block = existing, (node.read_info() or {}).get("deploy_block") or 0
        except ChainError:
            pass  # one an older version of Consentry deployed: this version's registry, at a new address
    if address is None:  # the registry first: on a fresh chain it lands at the dev key's first address
        address, block = deploy(rpc_url, Account.from_key(node.DEV_KEY), local=True)
    tokens = dict(tokens or {})
    usdc = tokens.get("USDC")
    if not (usdc and ep.call("eth_getCode", [usdc, "latest"]) not in ("0x", "", None)):
        tokens["USDC"] = deploy_test_token(rpc_url)
    return address, block, tokens


def deploy_test_token(rpc_url: str) -> str:
    """Deploy the test USDC (6 decimals, anyone may mint) on the embedded chain; its address."""
    from eth_account import Account

    from .chain_artifact import test_token_artifact

    ch = bare(rpc_url, local=True)
    dev = Account.from_key(node.DEV_KEY)
    tx = {"from": dev.address, "chainId": ch.chain_id, "value": 0, "data": test_token_artifact()["bytecode"]}
    tx["gas"] = int(ch.w3.eth.estimate_gas(tx) * GAS_HEADROOM)
    return ch.send_raw(tx, dev)["contractAddress"]


def require_fundable(ch: Chain) -> None:
    """--fund spends the well-known dev key's ether: only the local chain or a development node has it."""
    if not (ch.local or _is_dev_node(ch.ep)):
        raise UsageError(
            f"--fund works only on the embedded local chain or a development node (anvil, hardhat); "
            f"{ch.ep.host} (chain {ch.chain_id}) is neither: send the account funds on that chain "
            "yourself (a faucet on a testnet)"
        )


def mint_test_tokens(ch: Chain, address: str) -> list[str]:
    """On the embedded chain: mint 10,000 of each test token (test USDC) to `address`; the symbols minted."""
    from eth_account import Account

    from .currency import contract

    require_fundable(ch)
    if not ch.local:  # a profile's tokens on a dev node are not ours to mint
        return []
    dev = Account.from_key(node.DEV_KEY)
    minted = []
    for symbol, token in sorted(ch.tokens.items()):
        c = contract(ch, token)
        decimals = int(ch.call(c.functions.decimals()))
        ch.send(c.functions.mint(address, 10_000 * 10**decimals), dev)
        minted.append(symbol)
    return minted


def fund(ch: Chain, address: str, amount_wei: int) -> str:
    """Send ether from the well-known dev account: only on the local chain or a development node."""
    from eth_account import Account

    require_fundable(ch)
    dev = Account.from_key(node.DEV_KEY)
    tx = {"from": dev.address, "to": address, "value": amount_wei, "gas": 21000, "chainId": ch.chain_id}
    return "0x" + bytes(ch.send_raw(tx, dev)["transactionHash"]).hex()
