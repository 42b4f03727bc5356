"""A node that lies about logs is caught: a loopback JSON-RPC proxy in front of anvil rewrites
``eth_getLogs`` answers (a real HTTP server, so web3.py and the reader run unchanged)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import orjson
import pytest

from contracts.deploy import connect
from gateway.audit.errors import AuditChainUnavailable
from gateway.audit.events import EventReader
from gateway.audit.tracer import Tracer
from tests.gateway.audit.story import Story
from tests.gateway.server import serve_handler

Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


@contextmanager
def lying_proxy(upstream: str, rewrite: Rewrite) -> Iterator[str]:
    """Forward every call to ``upstream``; pass each ``eth_getLogs`` log through ``rewrite``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = httpx.post(
                upstream, content=body, headers={"Content-Type": "application/json"}
            )
            doc = answer.json()
            if orjson.loads(body).get("method") == "eth_getLogs" and "result" in doc:
                doc["result"] = [rewrite(log) for log in doc["result"]]
            out = orjson.dumps(doc)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serve_handler(Handler) as url:
        yield url


def _trace_through(url: str, story: Story) -> None:
    Tracer(EventReader(connect(url), story.world.deployment)).trace_case(story.case)


def test_honest_proxy_changes_nothing(story: Story) -> None:
    with lying_proxy(story.world.chain.rpc_url, lambda log: log) as url:
        _trace_through(url, story)


@pytest.mark.parametrize(
    ("lie", "message"),
    [
        (lambda log: {**log, "blockHash": "0x" + "ee" * 32}, "names block"),
        (
            lambda log: {**log, "transactionHash": "0x" + log["transactionHash"][4:] + "00"},
            "cannot read transaction",
        ),
        (lambda log: {**log, "topics": ["0x" + "ab" * 32, *log["topics"][1:]]}, "undecodable"),
        (lambda log: {**log, "data": "0x1234"}, "undecodable"),
    ],
    ids=["block-hash", "unknown-tx", "unknown-event", "truncated-data"],
)
def test_lying_node_is_refused(story: Story, lie: Rewrite, message: str) -> None:
    with (
        lying_proxy(story.world.chain.rpc_url, lie) as url,
        pytest.raises(AuditChainUnavailable, match=message),
    ):
        _trace_through(url, story)
