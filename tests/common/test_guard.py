"""The shared HTTP defences in isolation: token buckets, off-loop parsing, redaction."""

from __future__ import annotations

import threading

import anyio
import orjson

from common.errors import field_errors, redact
from common.ratelimit import TokenBucket
from common.web import loads as parse_json


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate_per_key() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=0.5, burst=2, clock=clock)
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == 2.0  # one token in 1 / 0.5 s
    assert bucket.take("b") == 0.0  # another key has its own bucket
    clock.now = 2.0
    assert bucket.take("a") == 0.0 and bucket.take("a") > 0.0


def test_a_large_body_is_parsed_on_a_worker_thread_and_a_small_one_inline() -> None:
    seen: list[bool] = []

    def recording(body: bytes) -> object:
        seen.append(threading.current_thread() is threading.main_thread())
        return orjson.loads(body)

    async def main() -> None:
        assert await parse_json(b"[1]", parse=recording, threshold=10) == [1]
        big = orjson.dumps(list(range(100)))
        assert await parse_json(big, parse=recording, threshold=10) == list(range(100))

    anyio.run(main)
    assert seen == [True, False]


def test_validation_errors_keep_where_and_what_but_never_the_value() -> None:
    errors = [{"loc": ("body", "address", 0), "msg": "Value error, 'Ann Lee' is not an address",
               "type": "value_error", "input": "Ann Lee", "ctx": {"error": "Ann Lee"}}]  # fmt: skip
    msg = "Value error, '<value>' is not an address"
    assert field_errors(errors) == [
        {"loc": ["body", "address", 0], "type": "value_error", "msg": msg}
    ]
    assert redact("x 12345 y", {"k": [12345]}) == "x <value> y"
