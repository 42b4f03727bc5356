"""Links to every configured peer: dial out (to send), accept in (to receive), reconnect.

Each validator dials every other one and sends only on the link it dialed; it receives on
the links others dialed to it. Two one-way links per pair avoid deciding which of two
simultaneous connections survives. A dial that fails is retried with exponential backoff
(capped); a link whose peer stops reading is dropped (bounded write buffer) and redialed.
A peer that sends a bad frame (any frame that fails authentication: tampered, replayed,
truncated) is disconnected; it may reconnect (it authenticated), with new keys. A link
whose send counter is exhausted is closed by its sender and redialed (new keys), so a
nonce is never reused. A peer speaking the clear v1 protocol is refused with a log line
naming the protocol (:class:`ledger.p2p.hello.LegacyPeer`).

**Who is a peer** can change while the node runs (:meth:`Transport.allow`): the validator
set is read from the chain, and an admission or a removal changes it at a height boundary.
The links of a peer no longer allowed are closed and its hellos refused from then on. A
newly allowed peer is dialed at the endpoint configured for it or, failing that, at the
endpoint it announced in its own signed hello when it dialed us (:mod:`.endpoints`); a
peer unknown to both is dialed as soon as it connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from ledger.p2p.endpoints import BadEndpoint, dial_target
from ledger.p2p.exceptions import CounterExhausted, P2PError
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
    """Authenticated links to ``peers``; ``handler`` is called for each checked frame.

    ``announce`` (``host:port``) goes in our hellos so that a peer that does not have us in
    its configuration can dial us back once it allows our key.
    """

    def __init__(
        self,
        *,
        key: NodeKey,
        chain_id: int,
        peers: Mapping[Address, Endpoint],
        handler: Handler,
        on_connect: ConnectHandler | None = None,
        announce: str = "",
    ) -> None:
        self._key = key
        self._chain_id = chain_id
        self._announce = announce
        #: Where each peer listens: configured, then learned from announcements.
        self._peers = {a: e for a, e in peers.items() if a != key.address}
        #: Keys whose hellos are accepted and whom we dial (read live by the handshake).
        self._allowed: set[Address] = set(self._peers)
        self._handler = handler
        self._on_connect = on_connect
        self._out: dict[Address, tuple[Session, asyncio.StreamWriter]] = {}
        self._dialers: dict[Address, asyncio.Task[None]] = {}
        self._server: asyncio.Server | None = None
        self._inbound: dict[asyncio.StreamWriter, Address | None] = {}
        self._accepting: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> frozenset[Address]:
        return frozenset(self._out)

    @property
    def allowed(self) -> frozenset[Address]:
        return frozenset(self._allowed)

    def endpoint(self, peer: Address) -> Endpoint | None:
        """Where ``peer`` is dialed (configured or announced), if known."""
        return self._peers.get(peer)

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port, limit=MAX_FRAME)
        for peer in sorted(self._allowed):
            self._ensure_dialer(peer)

    def allow(self, peers: Collection[Address]) -> None:
        """Make ``peers`` the keys we accept and dial; drop the links of the others."""
        wanted = set(peers) - {self._key.address}
        for peer in self._allowed - wanted:
            log.info("peer 0x%s is no longer allowed; dropping its links", peer.hex())
            self._drop(peer)
        added = wanted - self._allowed
        self._allowed = wanted
        for peer in sorted(added):
            log.info("peer 0x%s allowed", peer.hex())
            self._ensure_dialer(peer)

    def _drop(self, peer: Address) -> None:
        dialer = self._dialers.pop(peer, None)
        if dialer is not None:
            dialer.cancel()
        link = self._out.pop(peer, None)
        if link is not None:
            link[1].close()
        for writer, source in list(self._inbound.items()):
            if source == peer:
                writer.close()

    def _ensure_dialer(self, peer: Address) -> None:
        """Dial ``peer`` (allowed, endpoint known) unless a dialer already runs for it."""
        if self._server is None or peer not in self._allowed or peer not in self._peers:
            return
        running = self._dialers.get(peer)
        if running is None or running.done():
            self._dialers[peer] = asyncio.create_task(self._dial_forever(peer))

    def _learn(self, session: Session, writer: asyncio.StreamWriter) -> None:
        """Record where an allowed peer that dialed us listens, and dial it back."""
        if not session.announced:
            return
        remote = writer.get_extra_info("peername")
        try:
            host, port = dial_target(session.announced, str(remote[0]) if remote else "")
        except BadEndpoint as exc:
            log.warning("peer 0x%s announced a bad endpoint: %s", session.peer.hex(), exc)
            return
        endpoint = Endpoint(session.peer, host, port)
        if self._peers.get(session.peer) != endpoint:
            log.info("peer 0x%s listens on %s:%d", session.peer.hex(), host, port)
            self._peers[session.peer] = endpoint
        self._ensure_dialer(session.peer)

    async def close(self) -> None:
        server, self._server = self._server, None  # no dialer starts from here on
        tasks = list(self._dialers.values())
        self._dialers.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for _, writer in self._out.values():
            writer.close()
        self._out.clear()
        if server is not None:
            server.close()
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
        except CounterExhausted:
            log.info("link to 0x%s sealed its last frame; redialing with new keys", peer.hex())
            writer.close()
            return False
        except P2PError:
            log.exception("frame to 0x%s refused", peer.hex())
            return False
        return True

    def broadcast(self, kind: Kind, payload: bytes) -> None:
        for peer in list(self._out):
            self.send(peer, kind, payload)

    async def _dial_forever(self, peer: Address) -> None:
        delay = BACKOFF_START
        while peer in self._allowed:
            endpoint = self._peers[peer]  # an announcement may have moved it
            try:
                reader, writer = await asyncio.open_connection(
                    endpoint.host, endpoint.port, limit=MAX_FRAME
                )
            except (OSError, ValueError) as exc:  # ValueError: a host no resolver takes
                if isinstance(exc, ValueError):
                    log.warning("cannot dial 0x%s at %r: %s", peer.hex(), endpoint.host, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            try:
                session = await asyncio.wait_for(
                    initiate(
                        reader,
                        writer,
                        key=self._key,
                        chain_id=self._chain_id,
                        expected=peer,
                        announce=self._announce,
                    ),
                    HANDSHAKE_TIMEOUT,
                )
            except (P2PError, OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                log.warning("handshake with 0x%s failed: %s", peer.hex(), exc)
                writer.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            if peer not in self._allowed:
                writer.close()
                return
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
        self._inbound[writer] = None
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # shutting down
        finally:
            self._inbound.pop(writer, None)
            if task is not None:
                self._accepting.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            session = await asyncio.wait_for(
                respond(
                    reader, writer, key=self._key, chain_id=self._chain_id, known=self._allowed
                ),
                HANDSHAKE_TIMEOUT,
            )
        except (P2PError, OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            log.warning("refused an incoming link: %s", exc)
            return
        if session.peer not in self._allowed:
            return  # removed while its handshake was in flight
        self._inbound[writer] = session.peer
        self._learn(session, writer)
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
