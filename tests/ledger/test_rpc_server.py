"""The HTTP + WebSocket transport (Starlette app on a real ``Ledger``): limits and subscriptions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_utils.address import to_checksum_address
from starlette.testclient import TestClient

from ledger.chain import Ledger
from ledger.rpc.dispatch import Limits
from ledger.rpc.format import contract_address
from ledger.rpc.server import ServerLimits, create_app
from ledger.rpc.subscriptions import _CLOSE, Session, Subscription, SubscriptionHub
from ledger.tools.storage_contract import INITCODE, word
from ledger.typing import BlockNumber
from tests.ledger.helpers import KEYS, VALIDATOR_KEY, make_genesis, sign


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    chain = Ledger(tmp_path / "data", make_genesis(), validator_key=VALIDATOR_KEY)
    try:
        yield chain
    finally:
        chain.close()


@pytest.fixture
def http(ledger: Ledger) -> Iterator[TestClient]:
    limits = ServerLimits(max_body_bytes=4096, rpc=Limits(max_batch=10))
    with TestClient(create_app(ledger, client_version="t", limits=limits)) as client:
        yield client


def req(method: str, params: list[Any] | None = None, id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or []}


def test_http_post_answers_single_and_batch_requests(http: TestClient) -> None:
    assert http.post("/", json=req("eth_blockNumber")).json()["result"] == "0x0"
    answer = http.post("/", json=[req("eth_chainId", id_=1), req("net_listening", id_=2)]).json()
    assert [a["id"] for a in answer] == [1, 2]


def test_malformed_json_gets_a_parse_error_and_a_mixed_batch_is_answered_in_order(
    http: TestClient,
) -> None:
    error = http.post("/", content=b'{"jsonrpc": "2.0", "id": 1, "method"').json()["error"]
    assert error["code"] == -32700
    # eth_chainId is answered on the event loop, eth_getBalance on a worker thread
    batch = [
        req("eth_chainId", id_=1),
        req("eth_getBalance", ["0x" + "00" * 20, "latest"], id_=2),
        req("eth_sendRawTransaction", ["0x00"], id_=3),
    ]
    answer = http.post("/", json=batch).json()
    assert [a["id"] for a in answer] == [1, 2, 3]
    assert answer[1]["result"] == "0x0"
    assert answer[2]["error"]["code"] == -32003


def test_an_oversized_body_is_refused_with_413_and_a_json_rpc_error(http: TestClient) -> None:
    response = http.post("/", json=req("web3_sha3", ["0x" + "00" * 4096]))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == -32600


def test_notifications_get_204_and_other_verbs_are_refused(http: TestClient) -> None:
    response = http.post("/", json={"jsonrpc": "2.0", "method": "eth_blockNumber"})
    assert response.status_code == 204 and response.content == b""
    assert http.get("/").status_code == 405


def test_subscriptions_exist_only_over_websocket(http: TestClient) -> None:
    error = http.post("/", json=req("eth_subscribe", ["newHeads"])).json()["error"]
    assert error["code"] == -32601


def test_websocket_subscriptions_deliver_heads_and_matching_logs(
    http: TestClient, ledger: Ledger
) -> None:
    deploy = sign(KEYS[0], nonce=0, to=None, data=INITCODE, gas=200_000)
    ledger.send_raw_transaction(deploy)
    ledger.produce_block()
    created = contract_address(ledger.get_block_by_number(BlockNumber(1)).transactions[0])
    assert created is not None
    contract = to_checksum_address(created)
    with http.websocket_connect("/") as ws:
        ws.send_json(req("eth_subscribe", ["newHeads"], 1))
        heads = ws.receive_json()["result"]
        ws.send_json(req("eth_subscribe", ["logs", {"address": contract}], 2))
        logs = ws.receive_json()["result"]
        ws.send_json(req("eth_subscribe", ["newPendingTransactions"], 3))
        assert ws.receive_json()["error"]["code"] == -32602
        ws.send_json(req("eth_subscribe", ["newHeads", {"address": contract}], 4))
        assert ws.receive_json()["error"]["code"] == -32602
        ledger.send_raw_transaction(sign(KEYS[0], nonce=1, to=contract, data=word(8)))
        block = ledger.produce_block()
        assert block is not None
        got: dict[str, list[Any]] = {heads: [], logs: []}
        for _ in range(10):
            if got[heads] and got[logs]:
                break
            message = ws.receive_json()
            got[message["params"]["subscription"]].append(message["params"]["result"])
        assert got[heads][0]["hash"] == "0x" + block.hash.hex()
        assert got[logs][0]["transactionHash"] == "0x" + block.transactions[0].hash.hex()
        ws.send_json(req("eth_unsubscribe", [heads], 5))
        assert ws.receive_json()["result"] is True


def test_an_oversized_websocket_message_gets_an_error_and_the_socket_stays_open(
    http: TestClient,
) -> None:
    with http.websocket_connect("/") as ws:
        ws.send_text(
            '{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["0x' + "00" * 4096 + '"]}'
        )
        assert ws.receive_json()["error"]["code"] == -32600
        ws.send_json(req("eth_chainId"))
        assert ws.receive_json()["result"] == hex(4242)


def test_a_client_that_stops_reading_is_cut_off_instead_of_growing_memory() -> None:
    session = Session(SubscriptionHub(), queue=asyncio.Queue(2))
    session.active["0x1"] = Subscription("newHeads")
    for payload in (b"a", b"b", b"c", b"d"):
        session.send(payload)
    assert session.overflowed and not session.active
    assert session.queue.get_nowait() == b"b"  # room is made for the close marker
    assert session.queue.get_nowait() == _CLOSE  # the sender task closes the socket on this
    assert session.queue.empty()
