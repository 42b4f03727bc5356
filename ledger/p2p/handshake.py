"""Mutual authentication of a link by challenge and response over both nonces.

1. initiator → ``rlp([HELLO_TAG, chain_id, nonce_i, address_i, announce_i])``
2. responder refuses an unknown ``address_i`` or another chain; else →
   ``rlp([nonce_r, address_r, sig_r])``, ``sig_r`` over ``transcript(RESPONDER)``
3. initiator checks ``sig_r`` recovers to the address it meant to dial; →
   ``rlp([sig_i])`` over ``transcript(INITIATOR)``
4. responder checks ``sig_i`` recovers to ``address_i``.

``transcript(role) = keccak(rlp([role, chain_id, nonce_i, nonce_r, address_i, address_r,
announce_i]))``: each side signs fresh randomness chosen by the other, so an old transcript
proves nothing. The session id of the frames that follow is ``keccak`` of the same fields.

``announce_i`` is where the initiator listens for p2p links (``host:port``, ASCII, at most
:data:`MAX_ANNOUNCE` bytes; empty for none). It is covered by the initiator's signature, so
a responder that learns a newly admitted validator's endpoint from it learns it from that
validator's key, and dialing it back authenticates the same key again.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Collection

import rlp
from eth_hash.auto import keccak

from ledger.p2p.exceptions import FrameError, HandshakeRefused
from ledger.p2p.framing import Session, pack_raw, read_raw
from ledger.p2p.keys import NodeKey, recover
from ledger.typing import Address

HELLO_TAG = b"medledger/p2p-hello/v1"
INITIATOR = b"medledger/p2p-initiator/v1"
RESPONDER = b"medledger/p2p-responder/v1"
SESSION = b"medledger/p2p-session/v1"
HANDSHAKE_LIMIT = 512
MAX_ANNOUNCE = 255


def _transcript(
    role: bytes, chain_id: int, ni: bytes, nr: bytes, ai: bytes, ar: bytes, announce: bytes
) -> bytes:
    return bytes(keccak(rlp.encode([role, chain_id, ni, nr, ai, ar, announce])))


def _decode(data: bytes, fields: int) -> list[bytes]:
    try:
        item = rlp.decode(data, strict=True)
    except Exception as exc:  # pyrlp raises several unrelated types
        raise HandshakeRefused("handshake message is not well-formed RLP") from exc
    if not isinstance(item, list) or len(item) != fields:
        raise HandshakeRefused("handshake message has the wrong shape")
    if not all(isinstance(x, bytes) for x in item):
        raise HandshakeRefused("handshake message has the wrong shape")
    return item


async def _read(reader: asyncio.StreamReader) -> bytes:
    try:
        return await read_raw(reader, HANDSHAKE_LIMIT)
    except FrameError as exc:
        raise HandshakeRefused(str(exc)) from exc


async def initiate(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    key: NodeKey,
    chain_id: int,
    expected: Address,
    announce: str = "",
) -> Session:
    """Authenticate an outgoing link to ``expected``; raises ``HandshakeRefused``.

    ``announce`` (``host:port``) tells the responder where to dial us back.
    """
    announced = announce.encode("ascii")
    if len(announced) > MAX_ANNOUNCE:
        raise HandshakeRefused(f"the announced endpoint is longer than {MAX_ANNOUNCE} bytes")
    nonce_i = secrets.token_bytes(32)
    writer.write(pack_raw(rlp.encode([HELLO_TAG, chain_id, nonce_i, key.address, announced])))
    await writer.drain()
    nonce_r, address_r, sig_r = _decode(await _read(reader), 3)
    if len(nonce_r) != 32 or address_r != expected:
        raise HandshakeRefused("the endpoint is not the peer we dialed")
    args = (chain_id, nonce_i, nonce_r, key.address, address_r, announced)
    try:
        if recover(_transcript(RESPONDER, *args), sig_r) != expected:
            raise HandshakeRefused("the peer did not prove its key")
    except FrameError as exc:
        raise HandshakeRefused(str(exc)) from exc
    writer.write(pack_raw(rlp.encode([key.sign(_transcript(INITIATOR, *args))])))
    await writer.drain()
    return Session(key=key, peer=expected, session_id=bytes(keccak(rlp.encode([SESSION, *args]))))


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    key: NodeKey,
    chain_id: int,
    known: Collection[Address],
) -> Session:
    """Authenticate an incoming link from one of ``known``; raises ``HandshakeRefused``.

    ``known`` is read when the hello arrives, so a live set (the validators in force now)
    admits a newly admitted validator without restarting the listener. The session's
    ``announced`` is the initiator's signed ``host:port`` (not checked here).
    """
    tag, chain_raw, nonce_i, address_i, announced = _decode(await _read(reader), 5)
    if tag != HELLO_TAG or int.from_bytes(chain_raw, "big") != chain_id:
        raise HandshakeRefused("not a medledger hello for this chain")
    if len(nonce_i) != 32 or address_i not in known or address_i == key.address:
        raise HandshakeRefused("unknown peer key")
    if len(announced) > MAX_ANNOUNCE or not announced.isascii():
        raise HandshakeRefused("the announced endpoint is not a short ASCII host:port")
    peer = Address(address_i)
    nonce_r = secrets.token_bytes(32)
    args = (chain_id, nonce_i, nonce_r, peer, key.address, announced)
    writer.write(
        pack_raw(rlp.encode([nonce_r, key.address, key.sign(_transcript(RESPONDER, *args))]))
    )
    await writer.drain()
    (sig_i,) = _decode(await _read(reader), 1)
    try:
        if recover(_transcript(INITIATOR, *args), sig_i) != peer:
            raise HandshakeRefused("the peer did not prove its key")
    except FrameError as exc:
        raise HandshakeRefused(str(exc)) from exc
    session = Session(key=key, peer=peer, session_id=bytes(keccak(rlp.encode([SESSION, *args]))))
    session.announced = announced.decode("ascii")
    return session
