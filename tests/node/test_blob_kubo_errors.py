"""The Kubo client facing a daemon that hangs or fails, with small loopback servers.

These servers stand in for a broken daemon only (what js-ipfs cannot be made to do on
demand); the client under test is the real one, over real sockets.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from node.blobstore.kubo import KuboBlobStore
from node.exceptions import BlobNotFound, DaemonError, DaemonUnreachable
from node.typing import CID

HELLO = CID("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listening socket that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


class _Failing(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        missing = "pin/rm" in self.path
        body = b'{"Message":"%s","Code":0,"Type":"error"}' % (
            b"not pinned or pinned indirectly" if missing else b"repo is locked"
        )
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_hung_daemon_times_out_with_a_clear_error(silent_port: int) -> None:
    store = KuboBlobStore(f"http://127.0.0.1:{silent_port}", timeout=0.5, retries=0)
    with pytest.raises(DaemonUnreachable, match=f"127.0.0.1:{silent_port}"):
        store.pins()
    store.close()


def test_daemon_errors_carry_the_daemons_message(failing_url: str) -> None:
    store = KuboBlobStore(failing_url, retries=0)
    with pytest.raises(DaemonError, match="pin/add: HTTP 500: repo is locked"):
        store.pin(HELLO)
    with pytest.raises(BlobNotFound, match="not pinned"):
        store.unpin(HELLO)
    store.close()
