"""The MLLP listener: framed HL7 v2 messages on a TCP port, one ACK per message.

It runs its own asyncio loop on a thread of the node process (beside uvicorn's), so the
HTTP API and the HL7 port neither share nor block one loop; each message is handled on a
worker thread (ingest seals and fsyncs). Limits, each answered rather than dropped where a
reply is possible:

- peers: only addresses in ``allowed_peers`` (CIDRs); any other connection is closed at once;
- size: a frame longer than ``max_message_bytes`` (or one that never ends) gets an ``AR``
  NAK and the connection is closed; python-hl7's reader holds at most about twice the
  limit before it refuses, so memory stays bounded;
- framing: bytes outside ``<VT>…<FS><CR>`` get an ``AR`` NAK;
- idle: a connection silent for ``idle_timeout_s`` is closed;
- connections: at most ``max_connections`` at once (the next ones wait for a slot).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
from collections.abc import Callable

from hl7.mllp import InvalidBlockError, start_hl7_server

from node.config import Hl7Settings
from node.exceptions import NodeError
from node.hl7.ack import bare_nak
from node.hl7.errors import Hl7Error

log = logging.getLogger(__name__)

Handler = Callable[[bytes], bytes]


class Hl7Listener:
    """Serve ``handler`` over MLLP per ``settings`` on a background thread."""

    def __init__(self, handler: Handler, settings: Hl7Settings) -> None:
        self.handler = handler
        self.settings = settings
        self._allowed = [ipaddress.ip_network(p, strict=False) for p in settings.allowed_peers]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._slots: asyncio.Semaphore | None = None
        self.address: tuple[str, int] | None = None

    def allowed(self, host: str) -> bool:
        """Whether a peer address may connect."""
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket reports IPv4 peers this way
        return any(address in network for network in self._allowed)

    def start(self) -> tuple[str, int]:
        """Bind and serve; returns the bound ``(host, port)`` (port 0 picks a free one)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="hl7-mllp", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise NodeError(f"cannot listen for HL7 (MLLP): {failure[0]}")
        assert self.address is not None
        log.info("HL7 MLLP listening on %s:%d", *self.address)
        return self.address

    async def _open(self) -> None:
        s = self.settings
        self._slots = asyncio.Semaphore(s.max_connections)
        self._server = await start_hl7_server(self._client, host=s.host, port=s.port,
                                              limit=s.max_message_bytes)  # fmt: skip
        sockets = self._server.sockets  # type: ignore[union-attr]
        self.address = sockets[0].getsockname()[:2]

    def stop(self) -> None:
        """Stop accepting, close the connections, end the thread."""
        loop, server = self._loop, self._server
        if loop is None or server is None or self._thread is None:
            return

        async def close() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._thread = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        if not self.allowed(str(peer[0])):
            log.warning("HL7 connection from a peer not allowed; closed")
            writer.close()
            return
        assert self._slots is not None
        try:
            async with self._slots:
                await self._serve(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, body: bytes) -> None:
        writer.write(b"\x0b" + body + b"\x1c\r")
        await writer.drain()

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close, then read and drop what the peer still sends (at most 1 s).

        Closing with unread input makes the kernel send a reset, which can destroy the NAK
        before the peer reads it; nothing read here is kept.
        """
        if writer.can_write_eof():
            writer.write_eof()
        try:
            async with asyncio.timeout(1.0):
                while await reader.read(64 * 1024):
                    pass
        except (TimeoutError, ConnectionError):
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        limit = self.settings.max_message_bytes
        while True:
            try:
                block: bytes = await asyncio.wait_for(reader.readblock(),  # type: ignore[attr-defined]
                                                      self.settings.idle_timeout_s)  # fmt: skip
            except (TimeoutError, asyncio.IncompleteReadError):
                return  # idle, or the peer closed (a partial frame is discarded)
            except ValueError:  # python-hl7: the frame exceeds the reader's limit
                error = Hl7Error(f"the message exceeds {limit} bytes", code="207", ack="AR")
                await self._send(writer, bare_nak(error).encode())
                await self._linger(reader, writer)
                return
            except InvalidBlockError:
                error = Hl7Error("bytes outside an MLLP frame (<VT> ... <FS><CR>)", code="100",
                                 ack="AR")  # fmt: skip
                await self._send(writer, bare_nak(error).encode())
                continue
            ack = await asyncio.to_thread(self.handler, block)
            await self._send(writer, ack)
