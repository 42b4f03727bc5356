"""Links to every configured peer: dial out (to send), accept in (to receive), reconnect.

Each validator dials every other one and sends only on the link it dialed; it receives on
the links others dialed to it. Two one-way links per pair avoid deciding which of two
simultaneous connections survives. A dial that fails is retried with exponential backoff
(capped); a link whose peer stops reading is dropped (bounded write buffer) and redialed.
A peer that sends a bad frame is disconnected; it may reconnect (it authenticated).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ledger.p2p.exceptions import P2PError
from ledger.p2p.framing import MAX_FRAME, Kind, Session, read_raw
from ledger.p2p.handshake import initiate, respond
from ledger.p2p.keys import NodeKey
from ledger.typing import Address

log = logging.getLogger(__name__)

Handler = Callable[[Address, Kind, bytes], None]
ConnectHandler = Callable[[Address], None]

HANDSHAKE_TIMEOUT = 5.0
MAX_WRITE_BUFFER = 64 * 1024 * 1024
BACKOFF_START = 0.1
BACKOFF_MAX = 2.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a validator listens for p2p links."""

    address: Address
    host: str
    port: int


class Transport:
    """Authenticated links to ``peers``; ``handler`` is called for each checked frame."""

    def __init__(
        self,
        *,
        key: NodeKey,
        chain_id: int,
        peers: Mapping[Address, Endpoint],
        handler: Handler,
        on_connect: ConnectHandler | None = None,
    ) -> None:
        self._key = key
        self._chain_id = chain_id
        self._peers = {a: e for a, e in peers.items() if a != key.address}
        self._handler = handler
        self._on_connect = on_connect
        self._out: dict[Address, tuple[Session, asyncio.StreamWriter]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._server: asyncio.Server | None = None
        self._inbound: set[asyncio.StreamWriter] = set()
        self._accepting: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> frozenset[Address]:
        return frozenset(self._out)

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port, limit=MAX_FRAME)
        for peer in self._peers:
            self._tasks.append(asyncio.create_task(self._dial_forever(peer)))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for _, writer in self._out.values():
            writer.close()
        self._out.clear()
        if self._server is not None:
            self._server.close()
        for writer in list(self._inbound):
            writer.close()
        for task in list(self._accepting):
            task.cancel()
        for task in list(self._accepting):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def send(self, peer: Address, kind: Kind, payload: bytes) -> bool:
        """Queue a frame to ``peer``; ``False`` if there is no link now (gossip resends)."""
        link = self._out.get(peer)
        if link is None:
            return False
        session, writer = link
        if writer.is_closing():
            return False
        if writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.warning("peer 0x%s is not reading; dropping the link", peer.hex())
            writer.close()
            return False
        try:
            writer.write(session.seal(kind, payload))
        except P2PError:
            log.exception("frame to 0x%s refused", peer.hex())
            return False
        return True

    def broadcast(self, kind: Kind, payload: bytes) -> None:
        for peer in list(self._out):
            self.send(peer, kind, payload)

    async def _dial_forever(self, peer: Address) -> None:
        endpoint = self._peers[peer]
        delay = BACKOFF_START
        while True:
            try:
                reader, writer = await asyncio.open_connection(
                    endpoint.host, endpoint.port, limit=MAX_FRAME
                )
            except OSError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            try:
                session = await asyncio.wait_for(
                    initiate(reader, writer, key=self._key, chain_id=self._chain_id, expected=peer),
                    HANDSHAKE_TIMEOUT,
                )
            except (P2PError, OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                log.warning("handshake with 0x%s failed: %s", peer.hex(), exc)
                writer.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_START
            self._out[peer] = (session, writer)
            log.info("link to 0x%s up", peer.hex())
            if self._on_connect is not None:
                self._on_connect(peer)
            # Outgoing links carry nothing inward: reading detects the close.
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                await reader.read()
            self._out.pop(peer, None)
            writer.close()
            log.info("link to 0x%s down", peer.hex())
            await asyncio.sleep(delay)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._accepting.add(task)
        self._inbound.add(writer)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # shutting down
        finally:
            self._inbound.discard(writer)
            if task is not None:
                self._accepting.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            session = await asyncio.wait_for(
                respond(reader, writer, key=self._key, chain_id=self._chain_id, known=self._peers),
                HANDSHAKE_TIMEOUT,
            )
        except (P2PError, OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            log.warning("refused an incoming link: %s", exc)
            return
        try:
            await self._receive(session, reader)
        except (P2PError, OSError, asyncio.IncompleteReadError) as exc:
            if not isinstance(exc, asyncio.IncompleteReadError):
                log.warning("dropping link from 0x%s: %s", session.peer.hex(), exc)

    async def _receive(self, session: Session, reader: asyncio.StreamReader) -> None:
        while True:
            kind, payload = session.open(await read_raw(reader))
            try:
                self._handler(session.peer, kind, payload)
            except P2PError as exc:
                log.warning("bad %s from 0x%s: %s", kind.name, session.peer.hex(), exc)
                raise
