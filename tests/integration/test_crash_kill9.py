"""``kill -9`` of a loaded ``medledger ledger run`` process loses nothing a client was told.

Clients submit transactions continuously (one waits for each receipt, one only fires); the
node is SIGKILLed mid-stream and restarted on the same data directory. Every receipt returned
before the kill must come back identical, the blocks seen must keep their hashes, the log
index must agree with the receipts, the contract state must agree with the logs, and the
node must keep making blocks.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from tests.integration.nodeproc import PROBE, init_config, start_node

pytestmark = pytest.mark.integration

STORE = keccak(text="store(uint256)")[:4]
COUNT = keccak(text="count()")[:4]
STORED_TOPIC = "0x" + keccak(text="Stored(address,uint256,uint256)").hex()


def rpc(url: str, method: str, *params: Any) -> Any:
    answer = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=10
    ).json()
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return answer["result"]


def signed(account: Any, nonce: int, **fields: Any) -> str:
    tx = {
        "chainId": 1337,
        "nonce": nonce,
        "gas": 300_000,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "value": 0,
        **fields,
    }
    return "0x" + bytes(account.sign_transaction(tx).raw_transaction).hex()


def test_kill_9_under_load_keeps_every_acknowledged_receipt(tmp_path: Path) -> None:
    config = init_config(tmp_path / "config", accounts=1)
    data_dir = tmp_path / "data"
    node = start_node(config.directory, data_dir, log_name="first.log")
    waiter, firer = config.validator, config.accounts[0]
    deploy_hash = rpc(
        node.url,
        "eth_sendRawTransaction",
        signed(waiter, 0, data=bytes.fromhex(PROBE["bytecode"][2:]), gas=1_000_000),
    )
    deadline = time.monotonic() + 30
    while (deployed := rpc(node.url, "eth_getTransactionReceipt", deploy_hash)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    probe = to_checksum_address(deployed["contractAddress"])

    acknowledged: dict[str, dict[str, Any]] = {deploy_hash: deployed}
    heads_seen: dict[str, str] = {}
    stop = threading.Event()

    def wait_each() -> None:
        nonce = 1
        while not stop.is_set():
            try:
                tx_hash = rpc(
                    node.url,
                    "eth_sendRawTransaction",
                    signed(waiter, nonce, to=probe, data=STORE + nonce.to_bytes(32, "big")),
                )
                nonce += 1
                for _ in range(200):
                    receipt = rpc(node.url, "eth_getTransactionReceipt", tx_hash)
                    if receipt is not None:
                        acknowledged[tx_hash] = receipt
                        head = rpc(node.url, "eth_getBlockByNumber", "latest", False)
                        heads_seen[head["number"]] = head["hash"]
                        break
                    time.sleep(0.02)
            except (httpx.HTTPError, RuntimeError):
                return  # the node is gone

    def fire() -> None:
        nonce = 0
        while not stop.is_set():
            try:
                rpc(
                    node.url,
                    "eth_sendRawTransaction",
                    signed(
                        firer, nonce, to=probe, data=STORE + (10**6 + nonce).to_bytes(32, "big")
                    ),
                )
                nonce += 1
            except (httpx.HTTPError, RuntimeError):
                return
            time.sleep(0.005)

    errors: list[BaseException] = []

    def guarded(target: Any) -> Any:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # surfaced below: a client bug must fail the test
                errors.append(exc)

        return run

    threads = [threading.Thread(target=guarded(wait_each)), threading.Thread(target=guarded(fire))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 25 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 0.3))  # land the kill at an arbitrary point of a block
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait(10)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(acknowledged) >= 25, node.log()

    restarted = start_node(config.directory, data_dir, log_name="second.log")
    try:
        for tx_hash, before in acknowledged.items():
            assert rpc(restarted.url, "eth_getTransactionReceipt", tx_hash) == before
        head = int(rpc(restarted.url, "eth_blockNumber"), 16)
        assert head >= max(int(n, 16) for n in heads_seen)
        for number, block_hash in heads_seen.items():
            assert rpc(restarted.url, "eth_getBlockByNumber", number, False)["hash"] == block_hash

        logs = rpc(
            restarted.url,
            "eth_getLogs",
            {"fromBlock": "0x0", "toBlock": "latest", "address": probe, "topics": [STORED_TOPIC]},
        )
        by_tx = {(log["transactionHash"], log["logIndex"]): log for log in logs}
        for receipt in acknowledged.values():
            for log in receipt["logs"]:
                assert by_tx[(log["transactionHash"], log["logIndex"])] == log
        count = int(
            rpc(restarted.url, "eth_call", {"to": probe, "data": "0x" + COUNT.hex()}, "latest"), 16
        )
        assert count == len(logs)  # state agrees with the log index after recovery

        nonce = int(rpc(restarted.url, "eth_getTransactionCount", waiter.address, "pending"), 16)
        tx_hash = rpc(
            restarted.url,
            "eth_sendRawTransaction",
            signed(waiter, nonce, to=probe, data=STORE + (7).to_bytes(32, "big")),
        )
        deadline = time.monotonic() + 30
        while rpc(restarted.url, "eth_getTransactionReceipt", tx_hash) is None:
            assert time.monotonic() < deadline, restarted.log()
            time.sleep(0.05)
    finally:
        assert restarted.stop() == 0
