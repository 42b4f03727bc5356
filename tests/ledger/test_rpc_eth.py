"""The eth/net/web3/medledger methods through the dispatcher, served by a real ``Ledger``.

In-process (no HTTP) so that each wire rule and error code is checked quickly: hex shapes,
nulls for unknown objects, tag resolution, revert data, rejections, filters, commit seals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from eth_utils.address import to_checksum_address

from ledger.chain import Ledger
from ledger.rpc.dispatch import Dispatcher
from ledger.rpc.modules import default_modules
from ledger.rpc.registry import Registry
from ledger.tools.storage_contract import INITCODE, REVERT_DATA, REVERT_WORD, STORED_TOPIC, word
from tests.ledger.helpers import CHAIN_ID, KEYS, VALIDATOR_KEY, address, make_genesis, sign

ME = address(KEYS[0])


class Client:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.registry = Registry(default_modules(ledger, client_version="medledger/vtest"))
        self.dispatcher = Dispatcher(self.registry)

    def raw(self, method: str, *params: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        answer = self.dispatcher.handle(orjson.dumps(body))
        assert answer is not None
        result: dict[str, Any] = orjson.loads(answer)
        return result

    def __call__(self, method: str, *params: Any) -> Any:
        answer = self.raw(method, *params)
        assert "error" not in answer, answer
        return answer["result"]

    def error(self, method: str, *params: Any) -> dict[str, Any]:
        answer = self.raw(method, *params)
        assert "error" in answer, answer
        error: dict[str, Any] = answer["error"]
        return error

    def mine(self, raw: bytes) -> dict[str, Any]:
        tx_hash = self("eth_sendRawTransaction", "0x" + raw.hex())
        assert self.ledger.produce_block() is not None
        receipt: dict[str, Any] = self("eth_getTransactionReceipt", tx_hash)
        return receipt


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    ledger = Ledger(tmp_path / "data", make_genesis(), validator_key=VALIDATOR_KEY)
    c = Client(ledger)
    try:
        yield c
    finally:
        c.registry.close()
        ledger.close()


@pytest.fixture
def contract(client: Client) -> str:
    receipt = client.mine(sign(KEYS[0], nonce=0, to=None, data=INITCODE, gas=200_000))
    assert receipt["status"] == "0x1"
    return to_checksum_address(receipt["contractAddress"])


def test_chain_identity_and_static_answers(client: Client) -> None:
    assert client("eth_chainId") == hex(CHAIN_ID)
    assert client("net_version") == str(CHAIN_ID)
    assert client("web3_clientVersion") == "medledger/vtest"
    assert client("eth_blockNumber") == "0x0"
    assert client("eth_syncing") is False
    assert client("eth_accounts") == []
    assert client("eth_gasPrice") == "0x0"
    assert client("eth_maxPriorityFeePerGas") == "0x0"
    assert client("web3_sha3", "0x") == (
        "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


def test_a_mined_call_has_consistent_block_transaction_receipt_and_logs(
    client: Client, contract: str
) -> None:
    receipt = client.mine(sign(KEYS[0], nonce=1, to=contract, data=word(5)))
    assert receipt["status"] == "0x1" and receipt["type"] == "0x2"
    assert receipt["contractAddress"] is None
    assert receipt["gasUsed"] == receipt["cumulativeGasUsed"]
    (log,) = receipt["logs"]
    assert log["topics"] == ["0x" + STORED_TOPIC.hex()]
    assert log["data"] == "0x" + word(5).hex() and log["logIndex"] == "0x0"
    block = client("eth_getBlockByHash", receipt["blockHash"], True)
    assert block["number"] == receipt["blockNumber"]
    assert block["transactions"][0]["hash"] == receipt["transactionHash"]
    assert block["transactions"][0]["from"] == ME.lower()
    assert block["logsBloom"] != "0x" + "00" * 256
    assert client("eth_getBlockByNumber", "latest", False)["transactions"] == [
        receipt["transactionHash"]
    ]
    tx = client("eth_getTransactionByHash", receipt["transactionHash"])
    assert tx["blockHash"] == receipt["blockHash"] and tx["input"] == "0x" + word(5).hex()
    raw = client("eth_getRawTransactionByHash", receipt["transactionHash"])
    assert raw == "0x" + sign(KEYS[0], nonce=1, to=contract, data=word(5)).hex()
    assert client("eth_getStorageAt", contract, "0x0", "latest") == "0x" + word(5).hex()
    assert client("eth_getStorageAt", contract, "0x" + "00" * 32, "latest") == "0x" + word(5).hex()
    assert client("eth_getTransactionCount", ME, "latest") == "0x2"
    assert client("eth_getBlockReceipts", receipt["blockNumber"]) == [receipt]
    logs = client("eth_getLogs", {"fromBlock": "0x0", "address": contract})
    assert logs == [log]


def test_unknown_objects_are_null_and_future_state_is_an_error(client: Client) -> None:
    unknown = "0x" + "ab" * 32
    assert client("eth_getBlockByNumber", "0x99", False) is None
    assert client("eth_getBlockByHash", unknown, False) is None
    assert client("eth_getTransactionByHash", unknown) is None
    assert client("eth_getTransactionReceipt", unknown) is None
    error = client.error("eth_getBalance", ME, "0x99")
    assert error["code"] == -32001 and error["message"] == "header not found"
    error = client.error("eth_getBalance", ME, {"blockHash": unknown})
    assert error["code"] == -32001


@pytest.mark.parametrize("tag", ["latest", "pending", "safe", "finalized"])
def test_every_final_tag_names_the_head(client: Client, contract: str, tag: str) -> None:
    head = client("eth_getBlockByNumber", "latest", False)
    assert client("eth_getBlockByNumber", tag, False)["hash"] == head["hash"]
    assert client("eth_getBlockByNumber", "earliest", False)["number"] == "0x0"
    assert client("eth_getCode", contract, tag) != "0x"
    assert client("eth_getCode", contract, "earliest") == "0x"


def test_pending_nonce_counts_queued_transactions(client: Client) -> None:
    client("eth_sendRawTransaction", "0x" + sign(KEYS[1], nonce=0).hex())
    assert client("eth_getTransactionCount", address(KEYS[1]), "pending") == "0x1"
    assert client("eth_getTransactionCount", address(KEYS[1]), "latest") == "0x0"
    pending = client(
        "eth_getTransactionByHash",
        "0x" + __import__("eth_utils").keccak(sign(KEYS[1], nonce=0)).hex(),
    )
    assert pending["blockHash"] is None and pending["blockNumber"] is None


def test_revert_is_code_3_with_the_revert_data(client: Client, contract: str) -> None:
    call = {"from": ME, "to": contract, "data": "0x" + word(REVERT_WORD).hex()}
    for method in ("eth_call", "eth_estimateGas"):
        error = client.error(method, call)
        assert error == {
            "code": 3,
            "message": "execution reverted",
            "data": "0x" + REVERT_DATA.hex(),
        }
    assert client("eth_call", {"to": contract, "data": "0x" + word(1).hex()}) == "0x"
    assert (
        int(
            client("eth_estimateGas", {"from": ME, "to": contract, "data": "0x" + word(1).hex()}),
            16,
        )
        > 21_000
    )


def test_mempool_rejections_carry_their_reason(client: Client) -> None:
    error = client.error("eth_sendRawTransaction", "0x" + sign(KEYS[0], nonce=0, chainId=1).hex())
    assert error["code"] == -32003 and error["data"] == "wrong-chain-id"
    error = client.error("eth_sendRawTransaction", "0x" + sign(bytes([0x55]) * 32, nonce=0).hex())
    assert error["data"] == "not-permitted"
    error = client.error("eth_sendRawTransaction", "0x")
    assert error["code"] == -32602 and "empty transaction" in error["message"]


def test_an_unknown_transaction_type_byte_is_rejected_as_malformed(client: Client) -> None:
    error = client.error("eth_sendRawTransaction", "0x1234")
    assert error["code"] == -32003 and error["data"] in ("malformed", "unsupported-type")


def test_get_logs_range_rules(client: Client, contract: str) -> None:
    client.mine(sign(KEYS[0], nonce=1, to=contract, data=word(9)))
    error = client.error("eth_getLogs", {"fromBlock": "0x2", "toBlock": "0x1"})
    assert error["code"] == -32602
    assert client("eth_getLogs", {"fromBlock": "0x50", "toBlock": "latest"}) == []
    assert len(client("eth_getLogs", {"fromBlock": "0x0", "toBlock": "0x50"})) == 1
    error = client.error("eth_getLogs", {"blockHash": "0x" + "cd" * 32})
    assert error["code"] == -32001
    topic = "0x" + STORED_TOPIC.hex()
    assert len(client("eth_getLogs", {"fromBlock": "0x0", "topics": [topic]})) == 1
    assert client("eth_getLogs", {"fromBlock": "0x0", "topics": [topic, None]}) == []


def test_fee_history_reports_zero_fees_per_block(client: Client, contract: str) -> None:
    client.mine(sign(KEYS[0], nonce=1, to=contract, data=word(3)))
    history = client("eth_feeHistory", "0x3", "latest", [25, 75])
    assert history["oldestBlock"] == "0x0"
    assert history["baseFeePerGas"] == ["0x0"] * 4
    assert len(history["gasUsedRatio"]) == 3 and history["gasUsedRatio"][2] > 0
    assert history["reward"] == [["0x0", "0x0"]] * 3
    assert client("eth_feeHistory", 10, "0x1", [])["oldestBlock"] == "0x0"


def test_polling_filters_see_new_blocks_and_logs(client: Client, contract: str) -> None:
    logs_id = client("eth_newFilter", {"address": contract})
    blocks_id = client("eth_newBlockFilter")
    receipt = client.mine(sign(KEYS[0], nonce=1, to=contract, data=word(4)))
    assert client("eth_getFilterChanges", blocks_id) == [receipt["blockHash"]]
    assert client("eth_getFilterChanges", logs_id) == receipt["logs"]
    assert client("eth_getFilterChanges", logs_id) == []
    # fromBlock/toBlock default to latest, resolved when queried: the head holds the log
    assert client("eth_getFilterLogs", logs_id) == receipt["logs"]
    assert client("eth_uninstallFilter", logs_id) is True
    assert client("eth_uninstallFilter", logs_id) is False
    assert client.error("eth_getFilterChanges", logs_id)["code"] == -32001


def test_commit_seals_are_served_for_final_blocks(client: Client, contract: str) -> None:
    commit = client("medledger_getCommit", "latest")
    head = client("eth_getBlockByNumber", "latest", False)
    assert commit["blockHash"] == head["hash"] and commit["height"] == head["number"]
    (seal,) = commit["seals"]
    assert to_checksum_address(seal["validator"]) == address(VALIDATOR_KEY)
    assert len(bytes.fromhex(seal["signature"][2:])) == 65
    assert client.error("medledger_getCommit", "0x99")["code"] == -32001
