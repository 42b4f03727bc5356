"""Mutual authentication and key agreement of a link, over both nonces and ephemeral keys.

1. initiator → hello ``[HELLO_TAG, chain_id, nonce_i, address_i, announce_i, eph_i]``
2. responder refuses a v1 (clear) peer, an unknown ``address_i`` or another chain; else →
   reply ``[nonce_r, address_r, eph_r, sig_r]``, ``sig_r`` over ``transcript(RESPONDER)``
3. initiator checks ``sig_r`` recovers to the address it meant to dial; → finish
   ``[sig_i]`` over ``transcript(INITIATOR)``
4. responder checks ``sig_i`` recovers to ``address_i``.

``transcript(role) = keccak(rlp([role, chain_id, nonce_i, nonce_r, address_i, address_r,
announce_i, eph_i, eph_r]))``: each side signs fresh randomness chosen by the other, so a
recorded session replayed to a validator proves nothing (its new nonce and ephemeral key are
not in the old signature); and each side signs both X25519 public keys, so nobody between
them can substitute its own. The session id is ``keccak`` of the same fields; the frame keys
are ``HKDF(X25519(eph, eph_peer), salt=session id)`` (:mod:`ledger.p2p.cipher`), one per
direction. This is devp2p RLPx's shape (ephemeral ECDH inside an exchange authenticated by
the node keys, then AEAD frames) built from pyca/cryptography's primitives only; a Noise
library (``noiseprotocol``: last release 2020) or TLS (consortium certificates exist only
with ``consortium init --tls``, and the validator key is what the chain knows) did not fit.

``announce_i`` is where the initiator listens for p2p links (``host:port``, ASCII, at most
:data:`MAX_ANNOUNCE` bytes; empty for none). It is covered by the initiator's signature, so
a responder that learns a newly admitted validator's endpoint from it learns it from that
validator's key, and dialing it back authenticates the same key again.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Collection
from dataclasses import replace

import rlp
from eth_hash.auto import keccak

from ledger.p2p.cipher import Ephemeral, FrameCipher, derive_keys
from ledger.p2p.exceptions import FrameError, HandshakeRefused
from ledger.p2p.framing import Session, pack_raw, read_raw
from ledger.p2p.hello import (
    HANDSHAKE_LIMIT,
    MAX_ANNOUNCE,
    NONCE_SIZE,
    Hello,
    Reply,
    decode_finish,
    decode_hello,
    decode_reply,
    encode_finish,
    encode_hello,
    encode_reply,
)
from ledger.p2p.keys import NodeKey, recover
from ledger.typing import Address

__all__ = ["HANDSHAKE_LIMIT", "MAX_ANNOUNCE", "initiate", "respond"]

INITIATOR = b"medledger/p2p-initiator/v2"
RESPONDER = b"medledger/p2p-responder/v2"
SESSION = b"medledger/p2p-session/v2"
_HUNG_UP = (
    "the peer hung up at our hello: it does not allow our key, or it still speaks the "
    "clear p2p protocol v1"
)


def _transcript(role: bytes, hello: Hello, reply: Reply, responder: Address) -> bytes:
    fields = [
        role,
        hello.chain_id,
        hello.nonce,
        reply.nonce,
        hello.address,
        responder,
        hello.announce,
        hello.ephemeral,
        reply.ephemeral,
    ]
    return bytes(keccak(rlp.encode(fields)))


def _check(digest: bytes, signature: bytes, signer: Address) -> None:
    try:
        if recover(digest, signature) != signer:
            raise HandshakeRefused("the peer did not prove its key")
    except FrameError as exc:
        raise HandshakeRefused(str(exc)) from exc


def _session(
    *, initiator: bool, hello: Hello, reply: Reply, ephemeral: Ephemeral, peer: Address
) -> Session:
    session_id = _transcript(SESSION, hello, reply, reply.address)
    i2r, r2i = derive_keys(
        ephemeral.agree(reply.ephemeral if initiator else hello.ephemeral), session_id
    )
    send, receive = (i2r, r2i) if initiator else (r2i, i2r)
    return Session(
        peer=peer, session_id=session_id, send=FrameCipher(send), receive=FrameCipher(receive)
    )


async def _read(reader: asyncio.StreamReader, closed: str) -> bytes:
    try:
        return await read_raw(reader, HANDSHAKE_LIMIT)
    except FrameError as exc:
        raise HandshakeRefused(str(exc)) from exc
    except asyncio.IncompleteReadError as exc:
        raise HandshakeRefused(closed) from exc


async def initiate(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    key: NodeKey,
    chain_id: int,
    expected: Address,
    announce: str = "",
) -> Session:
    """Authenticate an outgoing link to ``expected`` and agree its keys.

    ``announce`` (``host:port``) tells the responder where to dial us back. Raises
    ``HandshakeRefused`` (also when the peer hangs up at our hello: it does not allow our
    key, or it still speaks the clear v1 protocol and cannot parse a v2 hello).
    """
    if not announce.isascii() or len(announce) > MAX_ANNOUNCE:
        raise HandshakeRefused(f"the announced endpoint is not ASCII of {MAX_ANNOUNCE} bytes")
    announced = announce.encode("ascii")
    ephemeral = Ephemeral()
    hello = Hello(
        chain_id, secrets.token_bytes(NONCE_SIZE), key.address, announced, ephemeral.public
    )
    writer.write(pack_raw(encode_hello(hello)))
    await writer.drain()
    reply = decode_reply(await _read(reader, _HUNG_UP))
    if reply.address != expected:
        raise HandshakeRefused("the endpoint is not the peer we dialed")
    _check(_transcript(RESPONDER, hello, reply, expected), reply.signature, expected)
    session = _session(initiator=True, hello=hello, reply=reply, ephemeral=ephemeral, peer=expected)
    writer.write(pack_raw(encode_finish(key.sign(_transcript(INITIATOR, hello, reply, expected)))))
    await writer.drain()
    return session


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
    ``announced`` is the initiator's signed ``host:port`` (not checked here). A v1 (clear
    protocol) hello raises ``LegacyPeer`` before anything is sent back.
    """
    hello = decode_hello(await _read(reader, "the peer closed the link before its hello"))
    if hello.chain_id != chain_id:
        raise HandshakeRefused("not a medledger hello for this chain")
    if hello.address not in known or hello.address == key.address:
        raise HandshakeRefused("unknown peer key")
    ephemeral = Ephemeral()
    unsigned = Reply(secrets.token_bytes(NONCE_SIZE), key.address, ephemeral.public, b"")
    signature = key.sign(_transcript(RESPONDER, hello, unsigned, key.address))
    reply = replace(unsigned, signature=signature)
    writer.write(pack_raw(encode_reply(reply)))
    await writer.drain()
    finish = decode_finish(await _read(reader, "the peer closed the link before finishing"))
    _check(_transcript(INITIATOR, hello, reply, key.address), finish, hello.address)
    session = _session(
        initiator=False, hello=hello, reply=reply, ephemeral=ephemeral, peer=hello.address
    )
    session.announced = hello.announce.decode("ascii")
    return session
