"""Frames on an authenticated link: ``u32 length || AEAD(kind || payload)``, never in clear.

``length`` counts the sealed body (ciphertext and 16-byte tag) and is checked against the
limit before anything is read. The body is ChaCha20-Poly1305 under the direction's key from
the handshake, with the direction's frame counter as nonce and the length header as
associated data (:mod:`ledger.p2p.cipher`). What each frame proves:

- **From the peer, on this link**: only the two ends of this handshake know the keys (an
  X25519 agreement over ephemeral keys both node keys signed), so a frame that opens came
  from the authenticated peer in this session; a frame of another session, or one reflected
  back to its sender (the other direction's key), fails.
- **In order, once**: the counter is implicit; a replayed, dropped or reordered frame is
  opened with the wrong nonce and fails.
- **Unchanged**: any flipped bit fails the tag.

Every failure is one opaque :class:`FrameError`; the transport then closes the link and the
sender redials (a new handshake, new keys). The length prefix (frame sizes) is the only
thing an observer of the wire learns.

Per-frame secp256k1 signatures (the v1 framing) are gone: the AEAD tag under a key bound to
both node keys' signatures authenticates each frame at a fraction of the cost of a
signature and its recovery.
"""

from __future__ import annotations

import asyncio
import struct
from enum import IntEnum

from ledger.p2p.cipher import TAG_SIZE, FrameCipher
from ledger.p2p.exceptions import FrameError
from ledger.typing import Address

FRAME_TAG = b"medledger/p2p-frame/v2"
#: Largest frame accepted or sent: a block batch for sync stays under it.
MAX_FRAME = 16 * 1024 * 1024
#: Largest payload that fits a frame (its kind byte and the AEAD tag take the rest).
MAX_PAYLOAD = MAX_FRAME - 1 - TAG_SIZE
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


def _associated(length: int) -> bytes:
    return FRAME_TAG + _LENGTH.pack(length)


class Session:
    """The sealing and opening state of one authenticated link (one cipher per direction).

    ``send`` and ``receive`` are the :class:`FrameCipher` of each direction; the handshake
    gives the initiator ``(i→r, r→i)`` and the responder the reverse.
    """

    def __init__(
        self, *, peer: Address, session_id: bytes, send: FrameCipher, receive: FrameCipher
    ) -> None:
        self.peer = peer
        self.session_id = session_id
        #: The ``host:port`` an initiating peer said it listens on ("" if none or outgoing).
        self.announced = ""
        self._send = send
        self._receive = receive

    def seal(self, kind: Kind, payload: bytes) -> bytes:
        """The framed, encrypted bytes of one message.

        Raises ``FrameError`` (payload oversize, counter exhausted) without using a nonce.
        """
        if len(payload) > MAX_PAYLOAD:
            raise FrameError(f"payload of {len(payload)} bytes exceeds the frame limit")
        length = 1 + len(payload) + TAG_SIZE
        sealed = self._send.seal(bytes([int(kind)]) + payload, _associated(length))
        return _LENGTH.pack(length) + sealed

    def open(self, body: bytes) -> tuple[Kind, bytes]:
        """Open one received body (length prefix already removed); raises ``FrameError``."""
        if len(body) < 1 + TAG_SIZE:
            raise FrameError("frame too short")
        plaintext = self._receive.open(body, _associated(len(body)))
        try:
            kind = Kind(plaintext[0])
        except ValueError:
            raise FrameError("unknown frame kind") from None
        return kind, plaintext[1:]
