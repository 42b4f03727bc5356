"""A TCP proxy on loopback that records every byte it relays and can flip one in flight.

Put between two real validators (the dialer's config points at the proxy, the proxy at the
listener), it shows what a network observer sees of a p2p link and what an active attacker
can do to it. It runs its own event loop in a thread, so tests drive it from sync code.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field


@dataclass
class Recorded:
    """One relayed connection: the bytes of each direction, in order."""

    upstream: bytearray = field(default_factory=bytearray)  # dialer → listener
    downstream: bytearray = field(default_factory=bytearray)  # listener → dialer
    closed: bool = False


class WireProxy:
    """Relay ``127.0.0.1:port`` → ``127.0.0.1:target``; ``flip_next()`` corrupts one byte."""

    def __init__(self, port: int, target: int) -> None:
        self.port = port
        self.target = target
        #: The connections relayed to a listening target, in order.
        self.connections: list[Recorded] = []
        self._flip = threading.Event()
        self.flipped_at: tuple[int, int] | None = None  # (connection, offset upstream)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> WireProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def flip_next(self) -> None:
        """Flip the last byte of the next chunk the dialer sends (a frame's tag, typically)."""
        self._flip.set()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:  # the listener is not up yet: the dialer retries
            writer.close()
            return
        record = Recorded()
        self.connections.append(record)
        index = len(self.connections) - 1

        async def pump(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, upstream: bool
        ) -> None:
            with contextlib.suppress(OSError):
                while chunk := await source.read(65536):
                    data = bytearray(chunk)
                    log = record.upstream if upstream else record.downstream
                    # Only after the handshake (the three messages are < 1 KiB): a frame.
                    if upstream and self._flip.is_set() and len(log) > 1024:
                        self._flip.clear()
                        data[-1] ^= 0x01
                        self.flipped_at = (index, len(log) + len(data) - 1)
                    log.extend(chunk)  # what the dialer sent, before the flip
                    sink.write(bytes(data))
                    await sink.drain()
            sink.close()

        await asyncio.gather(
            pump(reader, up_writer, True), pump(up_reader, writer, False), return_exceptions=True
        )
        record.closed = True
