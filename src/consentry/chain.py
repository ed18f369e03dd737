"""Talking to an EVM JSON-RPC endpoint: connect, check the chain and the registry, send signed
transactions, and turn the registry's custom-error reverts into readable errors. web3 is imported
here and in nothing that a chain-free command loads."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, Web3RPCError

from . import config, node
from .errors import ChainError, Reverted
from .chain_artifact import artifact
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
    return name, {i["name"]: Web3.to_checksum_address(v) if i["type"] == "address" else v
                  for i, v in zip(inputs, values)}


def _revert_from(exc: Exception) -> Reverted:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    decoded = decode_revert(data) if isinstance(data, (str, bytes)) else None
    if decoded:
        name, args = decoded
        return Reverted(describe_revert(name, args), name, args)
    return Reverted(f"the registry refused the transaction: {exc}")


@dataclass
class Chain:
    w3: Web3
    registry: object  # web3 Contract
    chain_id: int
    rpc_url: str
    deploy_block: int

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
        w3 = self.w3
        sender = account.address
        tx = {"from": sender, "value": value, "chainId": self.chain_id,
              "nonce": w3.eth.get_transaction_count(sender, "pending")}
        try:
            gas = fn.estimate_gas(tx)
        except (ContractCustomError, ContractLogicError, ContractPanicError) as e:
            raise _revert_from(e) from None
        except Web3RPCError as e:
            raise _rpc_error(e, sender) from None
        tx = fn.build_transaction({**tx, "gas": int(gas * GAS_HEADROOM)})
        return self.send_raw(tx, account)

    def send_raw(self, tx: dict, account) -> dict:
        w3 = self.w3
        if "maxFeePerGas" not in tx and "gasPrice" not in tx:
            base = w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0
            tip = 10**9 if self.chain_id == config.LOCAL_CHAIN_ID else w3.eth.max_priority_fee
            tx["maxPriorityFeePerGas"] = tip
            tx["maxFeePerGas"] = 2 * base + tip
        signed = account.sign_transaction(tx)
        try:
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        except Web3RPCError as e:
            raise _rpc_error(e, account.address) from None
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise Reverted(f"transaction {tx_hash.hex()} reverted")
        return receipt


def _rpc_error(e: Exception, sender: str) -> ChainError:
    msg = str(e)
    if "insufficient funds" in msg.lower() or "lack of funds" in msg.lower():
        return ChainError(
            f"insufficient funds: {sender} cannot pay for this transaction; fund the account"
            " (on the local chain, make accounts with `consentry account create NAME --fund`)"
        )
    return ChainError(f"the node refused the transaction: {msg}")


def _web3(rpc_url: str) -> Web3:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    try:
        w3.eth.chain_id
    except Exception as e:  # connection refused, DNS failure, not JSON-RPC …
        raise ChainError(f"cannot reach the RPC endpoint {rpc_url} ({type(e).__name__}); check the URL",
                         code="rpc_unreachable") from None
    return w3


def connect(network: str = "local", registry: str | None = None, chain_id: int | None = None) -> Chain:
    """Connect to the local node (`local`) or an RPC URL and check the registry is there."""
    from .rpc import resolve

    ep = resolve(network, registry, chain_id)
    w3 = _web3(ep.rpc_url)
    address = Web3.to_checksum_address(ep.registry)
    contract = w3.eth.contract(address=address, abi=artifact()["abi"])
    try:
        contract.functions.version().call()
    except Exception:
        raise ChainError(f"the contract at {address} is not a Consentry registry") from None
    return Chain(w3=w3, registry=contract, chain_id=ep.chain_id, rpc_url=ep.rpc_url, deploy_block=ep.deploy_block)


def deploy(rpc_url: str, account) -> tuple[str, int]:
    """Deploy the registry from the committed artifact; returns (address, block number)."""
    w3 = _web3(rpc_url)
    art = artifact()
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    ch = Chain(w3=w3, registry=None, chain_id=w3.eth.chain_id, rpc_url=rpc_url, deploy_block=0)
    tx = factory.constructor().build_transaction({
        "from": account.address, "chainId": ch.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
    })
    receipt = ch.send_raw(tx, account)
    return receipt["contractAddress"], receipt["blockNumber"]


def deploy_local(rpc_url: str, existing: str | None) -> tuple[str, int]:
    """For node.start: deploy unless the recorded registry survives in the persisted state."""
    from eth_account import Account

    w3 = _web3(rpc_url)
    if existing and len(w3.eth.get_code(Web3.to_checksum_address(existing))) > 0:
        info = node.read_info() or {}
        return existing, info.get("deploy_block") or 0
    return deploy(rpc_url, Account.from_key(node.DEV_KEY))
