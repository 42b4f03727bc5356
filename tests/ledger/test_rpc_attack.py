"""Hostile JSON-RPC clients against a real ``medledger ledger run`` process.

An ``eth_call`` that loops for ever with gas 2^64-1 is stopped at the EVM deadline and the
chain keeps making blocks meanwhile; a batch cannot multiply the call budget; a fee from an
empty account is a -32000, never a -32603; Foundry's ``cast send`` with its defaults
works; the WebSocket refuses foreign browser origins; one client's filters cannot use up
another's.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from eth_account import Account

from tests.integration.nodeproc import PROBE, DevConfig, NodeProcess, init_config, start_node

CAST = Path(__file__).parents[2] / "node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
LOOP = "0x5b600056"  # JUMPDEST PUSH1 0 JUMP: init code that never ends
HUGE_GAS = hex(2**64 - 1)
GOOD_ORIGIN = "http://records.hospital.example"
TIMEOUT_S = 1.0
FILTERS_PER_CLIENT = 5


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevConfig:
    config = init_config(tmp_path_factory.mktemp("attack") / "config", accounts=1)
    node_json = config.directory / "node.json"
    doc = json.loads(node_json.read_text())
    doc["rpc"].update(
        evm_timeout_s=TIMEOUT_S,
        max_concurrent_calls=2,
        ws_origins=[GOOD_ORIGIN],
        max_filters_per_client=FILTERS_PER_CLIENT,
    )
    node_json.write_text(json.dumps(doc))
    return config


@pytest.fixture(scope="module")
def node(dev: DevConfig) -> Iterator[NodeProcess]:
    process = start_node(dev.directory, dev.directory.parent / "data")
    try:
        yield process
    finally:
        assert process.stop(signal.SIGTERM) == 0, process.log()


def _send(node: NodeProcess, account: Any, **tx: Any) -> str:
    nonce = int(node.rpc("eth_getTransactionCount", [account.address, "pending"])["result"], 16)
    fields = {"chainId": 1337, "nonce": nonce, "gas": 1_000_000, "gasPrice": 0, "value": 0}
    signed = Account.sign_transaction({**fields, **tx}, account.key)
    answer = node.rpc("eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex()])
    assert "result" in answer, answer
    return str(answer["result"])


def _receipt(node: NodeProcess, tx_hash: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = node.rpc("eth_getTransactionReceipt", [tx_hash]).get("result")
        if receipt:
            return dict(receipt)
        time.sleep(0.05)
    raise AssertionError(f"{tx_hash} not mined within {timeout}s")


def _head(node: NodeProcess) -> int:
    return int(node.rpc("eth_blockNumber")["result"], 16)


def test_infinite_call_is_aborted_while_blocks_keep_coming(
    node: NodeProcess, dev: DevConfig
) -> None:
    answers: list[dict[str, Any]] = []

    def attack() -> None:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_call"}
        body["params"] = [{"data": LOOP, "gas": HUGE_GAS}, "latest"]
        answers.append(httpx.post(node.url, json=body, timeout=60).json())

    attackers = [threading.Thread(target=attack) for _ in range(3)]
    for thread in attackers:
        thread.start()
    time.sleep(0.2)  # the calls are running
    before = _head(node)
    receipt = _receipt(node, _send(node, dev.accounts[0], to="0x" + "22" * 20))
    assert receipt["status"] == "0x1"
    assert _head(node) > before
    for thread in attackers:
        thread.join(60)
    assert len(answers) == 3
    codes = sorted(a["error"]["code"] for a in answers)
    # two slots: at least two calls ran into the deadline; a third either waited or was refused
    assert codes.count(-32000) >= 2 and set(codes) <= {-32000, -32005}, answers
    for answer in answers:
        if answer["error"]["code"] == -32000:
            assert answer["error"]["message"] == "execution aborted (timeout = 1s)"


def test_a_batch_shares_one_call_budget(node: NodeProcess) -> None:
    call = {"jsonrpc": "2.0", "method": "eth_call"}
    batch = [{**call, "id": i, "params": [{"data": LOOP, "gas": HUGE_GAS}]} for i in range(4)]
    answers = sorted(httpx.post(node.url, json=batch, timeout=60).json(), key=lambda a: a["id"])
    assert answers[0]["error"]["code"] == -32000
    assert [a["error"]["code"] for a in answers[1:]] == [-32005] * 3
    # a plain call is served again afterwards (the budget was the batch's, not the node's)
    estimate = node.rpc("eth_estimateGas", [{"to": "0x" + "22" * 20}])
    assert estimate["result"] == "0x5208"


@pytest.mark.parametrize(
    "fee",
    [{"gasPrice": "0x1"}, {"maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1"}],
)
def test_estimate_with_fee_from_an_empty_account(node: NodeProcess, fee: dict[str, str]) -> None:
    empty = "0x" + "99" * 20
    answer = node.rpc("eth_estimateGas", [{"from": empty, "to": "0x" + "22" * 20, **fee}])
    assert answer["error"]["code"] == -32000, answer
    assert "insufficient funds" in answer["error"]["message"]


def test_cast_send_with_its_defaults(node: NodeProcess, dev: DevConfig) -> None:
    owner = dev.accounts[0]
    receipt = _receipt(node, _send(node, owner, data=PROBE["bytecode"], gas=3_000_000))
    probe = receipt["contractAddress"]
    key = "0x" + bytes(owner.key).hex()
    arguments = ["send", probe, "store(uint256)", "77", "--private-key", key]
    done = subprocess.run(
        [str(CAST), *arguments, "--rpc-url", node.url, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "0x1"
    selector = "0x3fa4f245"  # value()
    stored = node.rpc("eth_call", [{"to": probe, "data": selector}])
    assert int(stored["result"], 16) == 77


def test_websocket_origin_allow_list(node: NodeProcess) -> None:
    async def connect(origin: str | None) -> str:
        extra = {"origin": origin} if origin else {}
        async with websockets.connect(node.ws_url, **extra) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
            return str(json.loads(await ws.recv())["result"])

    assert asyncio.run(connect(None)) == "0x539"
    assert asyncio.run(connect(GOOD_ORIGIN)) == "0x539"
    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(connect("http://evil.example"))
    assert refused.value.response.status_code == 403


def test_one_clients_filters_do_not_starve_another(node: NodeProcess) -> None:
    async def flood() -> list[dict[str, Any]]:
        async with websockets.connect(node.ws_url) as ws:
            answers = []
            for i in range(FILTERS_PER_CLIENT + 2):
                await ws.send(
                    json.dumps({"jsonrpc": "2.0", "id": i, "method": "eth_newBlockFilter"})
                )
                answers.append(json.loads(await ws.recv()))
            # while the flooder still holds its filters, another client gets one
            other = node.rpc("eth_newFilter", [{"fromBlock": "latest"}])
            assert "result" in other, other
            return answers

    answers = asyncio.run(flood())
    assert all("result" in a for a in answers[:FILTERS_PER_CLIENT])
    assert [a["error"]["code"] for a in answers[FILTERS_PER_CLIENT:]] == [-32005, -32005]
    # over HTTP a client is its address: 127.0.0.2 floods, 127.0.0.1 is unaffected
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=30) as flooder:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_newBlockFilter", "params": []}
        codes = [
            flooder.post(node.url, json=body).json().get("error", {}).get("code")
            for _ in range(FILTERS_PER_CLIENT + 1)
        ]
    assert codes[-1] == -32005 and codes[:-1] == [None] * FILTERS_PER_CLIENT
    assert "result" in node.rpc("eth_newBlockFilter")
