"""Frames on an authenticated link: ``u32 length || body``, body signed by its sender.

``body = rlp([kind, seq, payload]) || signature``; the signature is the sender's node key
over ``keccak(FRAME_TAG || session_id || rlp(...))``. ``session_id`` binds the chain id and
both handshake nonces, so a frame is valid on one connection only; ``seq`` must grow by
one per frame in each direction, so a replayed or reordered frame is refused; the
recovered signer must be the peer the handshake authenticated, so a frame reflected back
to its sender is refused too.
"""

from __future__ import annotations

import asyncio
import struct
from enum import IntEnum

import rlp
from eth_hash.auto import keccak

from ledger.p2p.exceptions import FrameError
from ledger.p2p.keys import NodeKey, recover
from ledger.typing import Address

FRAME_TAG = b"medledger/p2p-frame/v1"
#: Largest frame accepted or sent: a block batch for sync stays under it.
MAX_FRAME = 16 * 1024 * 1024
_LENGTH = struct.Struct(">I")


class Kind(IntEnum):
    """Frame types; an unknown kind is a protocol violation."""

    STATUS = 1
    TRANSACTIONS = 2
    CONSENSUS = 3
    GET_BLOCKS = 4
    BLOCKS = 5


async def read_raw(reader: asyncio.StreamReader, limit: int = MAX_FRAME) -> bytes:
    """One length-prefixed chunk; refuses a declared length above ``limit`` unread."""
    header = await reader.readexactly(_LENGTH.size)
    (length,) = _LENGTH.unpack(header)
    if length > limit:
        raise FrameError(f"frame of {length} bytes exceeds the {limit}-byte limit")
    return await reader.readexactly(length)


def pack_raw(body: bytes, limit: int = MAX_FRAME) -> bytes:
    if len(body) > limit:
        raise FrameError(f"frame of {len(body)} bytes exceeds the {limit}-byte limit")
    return _LENGTH.pack(len(body)) + body


class Session:
    """The signing and checking state of one authenticated link (one direction each)."""

    def __init__(self, *, key: NodeKey, peer: Address, session_id: bytes) -> None:
        self.key = key
        self.peer = peer
        self.session_id = session_id
        #: The ``host:port`` an initiating peer said it listens on ("" if none or outgoing).
        self.announced = ""
        self._send_seq = 0
        self._recv_seq = 0

    def _digest(self, content: bytes) -> bytes:
        return bytes(keccak(FRAME_TAG + self.session_id + content))

    def seal(self, kind: Kind, payload: bytes) -> bytes:
        """The framed, signed bytes of one message."""
        self._send_seq += 1
        content = rlp.encode([int(kind), self._send_seq, payload])
        return pack_raw(content + self.key.sign(self._digest(content)))

    def open(self, body: bytes) -> tuple[Kind, bytes]:
        """Check one received body (length prefix already removed); raises ``FrameError``."""
        if len(body) < 66:
            raise FrameError("frame too short")
        content, signature = body[:-65], body[-65:]
        if recover(self._digest(content), signature) != self.peer:
            raise FrameError("frame not signed by the authenticated peer")
        try:
            item = rlp.decode(content, strict=True)
        except Exception as exc:  # pyrlp raises several unrelated types
            raise FrameError("frame is not well-formed RLP") from exc
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not all(isinstance(x, bytes) for x in item)
        ):
            raise FrameError("frame is not [kind, seq, payload]")
        kind_raw, seq_raw, payload = item
        seq = int.from_bytes(seq_raw, "big")
        if seq != self._recv_seq + 1:
            raise FrameError(f"frame sequence {seq} after {self._recv_seq}: replayed or reordered")
        try:
            kind = Kind(int.from_bytes(kind_raw, "big"))
        except ValueError:
            raise FrameError("unknown frame kind") from None
        self._recv_seq = seq
        return kind, payload
