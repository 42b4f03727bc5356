"""JSON-RPC 2.0 envelope semantics of the dispatcher, error code by error code.

The dispatcher is served a small test module here (echo, boom) so each envelope rule is
checked in isolation; the eth methods are tested against a real ledger elsewhere.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from ledger.rpc import params as p
from ledger.rpc.dispatch import Dispatcher, Limits
from ledger.rpc.errors import TransactionRejectedError
from ledger.rpc.registry import Registry, RPCModule, rpc_method


class Demo(RPCModule):
    name = "demo"

    @rpc_method("echo", p.Param("value", p.quantity))
    def echo(self, value: int) -> str:
        return hex(value)

    @rpc_method("boom")
    def boom(self) -> None:
        raise RuntimeError("secret internal detail /home/x/.key")

    @rpc_method("reject")
    def reject(self) -> None:
        raise TransactionRejectedError("nonce too low", data="nonce-too-low")

    @rpc_method("big")
    def big(self) -> str:
        return "x" * 5000


def call(body: Any, *, limits: Limits | None = None) -> Any:
    dispatcher = Dispatcher(Registry([Demo()]), limits=limits)
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    answer = dispatcher.handle(raw)
    return None if answer is None else orjson.loads(answer)


def req(method: str, params: Any = None, id_: Any = 1) -> dict[str, Any]:
    out: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": id_}
    if params is not None:
        out["params"] = params
    return out


def test_a_call_returns_its_result_with_the_same_id() -> None:
    assert call(req("demo_echo", ["0x10"], "abc")) == {
        "jsonrpc": "2.0",
        "id": "abc",
        "result": "0x10",
    }


def test_invalid_json_is_a_parse_error_with_null_id() -> None:
    answer = call(b'{"jsonrpc": "2.0", "method": ')
    assert answer["error"]["code"] == -32700 and answer["id"] is None


@pytest.mark.parametrize(
    "body",
    [
        5,
        "x",
        {"jsonrpc": "1.0", "method": "demo_echo", "id": 1},
        {"method": "demo_echo", "id": 1},
        {"jsonrpc": "2.0", "method": 5, "id": 1},
        {"jsonrpc": "2.0", "method": "demo_echo", "params": "0x1", "id": 1},
        {"jsonrpc": "2.0", "method": "demo_echo", "id": {"x": 1}},
        {"jsonrpc": "2.0", "method": "demo_echo", "id": True},
    ],
)
def test_malformed_requests_are_invalid_request(body: Any) -> None:
    assert call(body)["error"]["code"] == -32600


def test_unknown_method_is_method_not_found_and_names_it() -> None:
    error = call(req("eth_nope"))["error"]
    assert error["code"] == -32601
    assert "eth_nope" in error["message"]


def test_bad_params_are_invalid_params_naming_the_param() -> None:
    error = call(req("demo_echo", ["0x01"]))["error"]
    assert error["code"] == -32602
    assert error["data"] == {
        "param": "value",
        "index": 0,
        "reason": "hex number with leading zero digits",
    }


def test_internal_errors_never_leak_details(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        answer = call(req("demo_boom"))
    assert answer["error"] == {"code": -32603, "message": "internal error"}
    assert "secret" not in orjson.dumps(answer).decode()
    assert "secret internal detail" in caplog.text  # the operator still sees it


def test_rejections_carry_the_reason_in_data() -> None:
    error = call(req("demo_reject"))["error"]
    assert error == {"code": -32003, "message": "nonce too low", "data": "nonce-too-low"}


def test_a_notification_gets_no_response_but_runs() -> None:
    assert call({"jsonrpc": "2.0", "method": "demo_echo", "params": ["0x1"]}) is None
    assert call({"jsonrpc": "2.0", "method": "demo_nope"}) is None


def test_batches_answer_each_request_in_order_and_skip_notifications() -> None:
    answer = call(
        [
            req("demo_echo", ["0x1"], 1),
            {"jsonrpc": "2.0", "method": "demo_echo", "params": ["0x2"]},
            req("demo_nope", None, 2),
            5,
        ]
    )
    assert [a.get("id") for a in answer] == [1, 2, None]
    assert answer[0]["result"] == "0x1"
    assert answer[1]["error"]["code"] == -32601
    assert answer[2]["error"]["code"] == -32600


def test_an_empty_batch_is_an_invalid_request() -> None:
    answer = call([])
    assert answer["error"]["code"] == -32600 and answer["id"] is None


def test_a_batch_of_only_notifications_gets_no_response() -> None:
    assert call([{"jsonrpc": "2.0", "method": "demo_echo", "params": ["0x1"]}]) is None


def test_batch_size_is_limited() -> None:
    answer = call([req("demo_echo", ["0x1"], i) for i in range(4)], limits=Limits(max_batch=3))
    assert answer["error"]["code"] == -32600 and "batch too large" in answer["error"]["message"]


def test_response_size_is_limited() -> None:
    limits = Limits(max_response_bytes=1000)
    assert call(req("demo_big", None, 7), limits=limits)["error"]["code"] == -32005
    assert call(req("demo_big", None, 7), limits=limits)["id"] == 7
    assert call([req("demo_big", None, 7)], limits=limits)["error"]["code"] == -32005
