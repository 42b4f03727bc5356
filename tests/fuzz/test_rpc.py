"""Fuzzing the JSON-RPC request path in-process (``ledger.rpc.dispatch``, ``params``).

Random JSON values, random method names (real ones too) and random params: the dispatcher
always answers a JSON-RPC response object (or nothing, for a notification) with a proper
error, never raises, never answers -32603 (an internal error is a bug: a decoder that let a
malformed value through).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.calls import CallLimits
from ledger.chain import Ledger
from ledger.rpc.dispatch import Dispatcher
from ledger.rpc.errors import INTERNAL_ERROR
from ledger.rpc.modules import default_modules
from ledger.rpc.registry import Registry
from tests.fuzz.conftest import fuzz_settings
from tests.ledger.helpers import VALIDATOR_KEY, make_genesis

_hex = st.builds(
    lambda raw, odd: "0x" + raw.hex()[: len(raw.hex()) - odd], st.binary(max_size=40), st.booleans()
)
_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | _hex
    | st.sampled_from(["latest", "pending", "earliest", "safe", "finalized", "0x", "0x0"])
)
_json = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["to", "from", "data", "gas", "gasPrice", "value", "address", "topics"])
            | st.text(max_size=8),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def dispatcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dispatcher]:
    ledger = Ledger(
        tmp_path_factory.mktemp("fuzz-rpc") / "chain", make_genesis(), validator_key=VALIDATOR_KEY
    )
    ledger.calls.configure(CallLimits(gas_cap=1_000_000, timeout_s=0.5))
    registry = Registry(default_modules(ledger, client_version="medledger/vfuzz"))
    yield Dispatcher(registry)
    registry.close()
    ledger.close()


def _check(answer: bytes | None) -> None:
    if answer is None:
        return
    reply = orjson.loads(answer)
    replies = reply if isinstance(reply, list) else [reply]
    for one in replies:
        assert isinstance(one, dict) and one.get("jsonrpc") == "2.0", one
        assert ("result" in one) != ("error" in one), one
        if "error" in one:
            assert isinstance(one["error"]["code"], int)
            assert one["error"]["code"] != INTERNAL_ERROR, one
            assert "Traceback" not in answer.decode()


def _methods(dispatcher: Dispatcher) -> st.SearchStrategy[str]:
    return st.sampled_from(dispatcher.registry.names()) | st.text(max_size=30)


@fuzz_settings()
@given(data=st.data())
def test_random_requests_get_proper_answers(dispatcher: Dispatcher, data: st.DataObject) -> None:
    method = data.draw(_methods(dispatcher))
    params = data.draw(st.lists(_json, max_size=4) | _json)
    message: dict[str, Any] = {
        "jsonrpc": "2.0",
        "id": data.draw(st.integers(0, 9)),
        "method": method,
    }
    message["params"] = params
    if data.draw(st.booleans()):
        message = {k: v for k, v in message.items() if data.draw(st.booleans())}
    body = json.dumps(data.draw(st.just(message) | st.lists(st.just(message), max_size=3)))
    _check(dispatcher.handle(body.encode()))


@fuzz_settings()
@given(body=st.binary(max_size=200) | _json.map(lambda v: json.dumps(v).encode()))
def test_random_bodies_get_proper_answers(dispatcher: Dispatcher, body: bytes) -> None:
    _check(dispatcher.handle(body))
