"""Every registered method, called with malformed params, answers a proper JSON-RPC error.

Wrong types, huge numbers, wrong lengths, too many arguments: each must come back as a
client error object (-32602 and friends, -32000 for a call that cannot run), never as a
-32603 "internal error" and never with a traceback in the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ledger.calls import CallLimits
from ledger.chain import Ledger
from ledger.rpc.dispatch import Dispatcher
from ledger.rpc.errors import INTERNAL_ERROR
from ledger.rpc.modules import default_modules
from ledger.rpc.registry import Registry
from tests.ledger.helpers import VALIDATOR_KEY, make_genesis

HUGE = "0x" + "f" * 130
MALFORMED: list[Any] = [
    [1],
    [True],
    [None],
    [HUGE],
    [2**80],
    [-1],
    [1.5],
    ["0x"],
    ["0xzz"],
    ["latest"],
    [[]],
    [{}],
    [{"to": HUGE}],
    [{"from": "0x12", "gas": HUGE}],
    [{"value": HUGE, "gas": "0xffffffffffffffff", "data": "0x5b"}],
    [{"fromBlock": HUGE, "toBlock": 7}],
    # a fee from an empty account: py-evm's ValidationError once escaped as a -32603
    [{"from": "0x" + "99" * 20, "to": "0x" + "22" * 20, "gasPrice": "0x1"}],
    [{"from": "0x" + "99" * 20, "maxFeePerGas": "0x1", "value": "0x5"}, "latest"],
    ["0x" + "ab" * 20, HUGE],
    ["0x" + "ab" * 20, "0x" + "11" * 33, {"blockHash": "0x12"}],
    ["0x" + "00" * 32, True, None, 5],
    [HUGE, ["x"] * 200],
    {"by": "name"},
    "not a list",
    7,
]


@pytest.fixture(scope="module")
def dispatcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dispatcher]:
    path: Path = tmp_path_factory.mktemp("malformed") / "chain"
    ledger = Ledger(path, make_genesis(), validator_key=VALIDATOR_KEY)
    ledger.calls.configure(CallLimits(gas_cap=1_000_000, timeout_s=0.5))
    registry = Registry(default_modules(ledger, client_version="medledger/vtest"))
    yield Dispatcher(registry)
    registry.close()
    ledger.close()


def test_every_method_rejects_malformed_params_properly(dispatcher: Dispatcher) -> None:
    names = dispatcher.registry.names()
    assert len(names) > 30
    bad: list[tuple[str, Any, Any]] = []
    for method in names:
        for params in MALFORMED:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
            answer = dispatcher.handle(body.encode())
            assert answer is not None
            text = answer.decode()
            reply = orjson.loads(answer)
            error = reply.get("error")
            if "Traceback" in text or (error is not None and error["code"] == INTERNAL_ERROR):
                bad.append((method, params, reply))
            elif error is None:
                assert "result" in reply, reply
    assert not bad, bad[:10]
