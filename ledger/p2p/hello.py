"""The three handshake messages (strict RLP, one ``HandshakeRefused`` per failure).

1. hello (initiator): ``rlp([HELLO_TAG, chain_id, nonce_i, address_i, announce_i, ephemeral_i])``
2. reply (responder): ``rlp([nonce_r, address_r, ephemeral_r, sig_r])``
3. finish (initiator): ``rlp([sig_i])``

Each decoder checks the shape and the size of every field (32-byte nonces and X25519 keys,
20-byte addresses, a canonical chain id, a short ASCII announcement, 65-byte signatures),
so what it returns is well-formed; whether it is *acceptable* (known key, this chain, a
signature that recovers) is the handshake's business. A hello of the clear v1 protocol
(five fields, ``HELLO_TAG_V1``) is recognised and refused with its own message.
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp

from ledger.p2p.cipher import PUBLIC_KEY_SIZE
from ledger.p2p.exceptions import HandshakeRefused
from ledger.typing import Address

HELLO_TAG = b"medledger/p2p-hello/v2"
#: The tag of the clear (signed, unencrypted) protocol this one replaced.
HELLO_TAG_V1 = b"medledger/p2p-hello/v1"
#: Largest handshake message read (a hello with the longest announcement is ~390 bytes).
HANDSHAKE_LIMIT = 512
MAX_ANNOUNCE = 255
NONCE_SIZE = 32
SIGNATURE_SIZE = 65
ADDRESS_SIZE = 20


class LegacyPeer(HandshakeRefused):
    """The peer speaks the clear v1 p2p protocol (signed, unencrypted frames)."""


@dataclass(frozen=True, slots=True)
class Hello:
    chain_id: int
    nonce: bytes
    address: Address
    announce: bytes
    ephemeral: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    nonce: bytes
    address: Address
    ephemeral: bytes
    signature: bytes


def _fields(data: bytes) -> list[bytes]:
    try:
        item = rlp.decode(data, strict=True)
    except Exception as exc:  # pyrlp raises several unrelated types
        raise HandshakeRefused("handshake message is not well-formed RLP") from exc
    if not isinstance(item, list) or not all(isinstance(x, bytes) for x in item):
        raise HandshakeRefused("handshake message has the wrong shape")
    return item


def _sized(value: bytes, size: int, what: str) -> bytes:
    if len(value) != size:
        raise HandshakeRefused(f"{what} has {size} bytes")
    return value


def encode_hello(hello: Hello) -> bytes:
    return bytes(
        rlp.encode(
            [
                HELLO_TAG,
                hello.chain_id,
                hello.nonce,
                hello.address,
                hello.announce,
                hello.ephemeral,
            ]
        )
    )


def decode_hello(data: bytes) -> Hello:
    """A well-formed v2 hello; raises ``LegacyPeer`` for a v1 one, else ``HandshakeRefused``."""
    fields = _fields(data)
    if len(fields) == 5 and fields[0] == HELLO_TAG_V1:
        raise LegacyPeer(
            "the peer speaks the clear p2p protocol v1 (signed, unencrypted frames): "
            "refused, it must be upgraded"
        )
    if len(fields) != 6 or fields[0] != HELLO_TAG:
        raise HandshakeRefused("not a medledger v2 hello")
    _, chain_raw, nonce, address, announce, ephemeral = fields
    if len(chain_raw) > 32 or chain_raw[:1] == b"\x00":
        raise HandshakeRefused("the chain id is not a canonical integer")
    if len(announce) > MAX_ANNOUNCE or not announce.isascii():
        raise HandshakeRefused("the announced endpoint is not a short ASCII host:port")
    return Hello(
        chain_id=int.from_bytes(chain_raw, "big"),
        nonce=_sized(nonce, NONCE_SIZE, "a nonce"),
        address=Address(_sized(address, ADDRESS_SIZE, "an address")),
        announce=announce,
        ephemeral=_sized(ephemeral, PUBLIC_KEY_SIZE, "an ephemeral key"),
    )


def encode_reply(reply: Reply) -> bytes:
    return bytes(rlp.encode([reply.nonce, reply.address, reply.ephemeral, reply.signature]))


def decode_reply(data: bytes) -> Reply:
    fields = _fields(data)
    if len(fields) != 4:
        raise HandshakeRefused("not a medledger v2 handshake reply")
    nonce, address, ephemeral, signature = fields
    return Reply(
        nonce=_sized(nonce, NONCE_SIZE, "a nonce"),
        address=Address(_sized(address, ADDRESS_SIZE, "an address")),
        ephemeral=_sized(ephemeral, PUBLIC_KEY_SIZE, "an ephemeral key"),
        signature=_sized(signature, SIGNATURE_SIZE, "a signature"),
    )


def encode_finish(signature: bytes) -> bytes:
    return bytes(rlp.encode([signature]))


def decode_finish(data: bytes) -> bytes:
    fields = _fields(data)
    if len(fields) != 1:
        raise HandshakeRefused("not a medledger v2 handshake finish")
    return _sized(fields[0], SIGNATURE_SIZE, "a signature")
