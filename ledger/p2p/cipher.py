"""The link's cryptography: X25519 ephemeral keys, the HKDF key schedule, counter-nonce AEAD.

Every raw primitive call of the p2p layer is here (pyca/cryptography's, none hand-written),
so the construction can be read in one place:

- **Ephemeral keys.** Each end of a handshake makes a fresh X25519 key pair per link and
  sends the public half inside its signed hello (``ledger.p2p.handshake``). The private half
  lives only in this process's memory for the handshake and is dropped after the key
  schedule: a node key stolen later cannot decrypt a recorded session (forward secrecy).
- **Key schedule.** ``HKDF-SHA256(ikm = X25519(own, peer), salt = transcript hash,
  info = KEYS_INFO)`` gives 64 bytes: the initiator→responder key, then the
  responder→initiator key. The transcript hash (the session id) covers the chain id, both
  nonces, both addresses, the announcement and both ephemeral public keys, each signed by its
  sender's node key: a man in the middle that swaps an ephemeral key breaks a signature, and
  the two directions never share a key, so a frame reflected to its sender fails to open.
- **Frames.** ChaCha20-Poly1305 (RFC 8439; constant time without AES hardware, and what
  WireGuard and TLS 1.3 use) under the direction's key, nonce = 64-bit frame counter
  (big-endian, zero-padded to 12 bytes) starting at 0 and growing by one per frame, the
  frame's length header as associated data. The counter is never sent: a replayed, dropped,
  reordered or tampered frame fails authentication, which is one opaque :class:`FrameError`
  and closes the link (the transport redials). The counter never wraps: a direction that
  reaches ``limit`` frames refuses to seal more, so the link is closed and redialed with new
  keys long before a nonce could repeat.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.p2p.exceptions import CounterExhausted, FrameError, HandshakeRefused

KEYS_INFO = b"medledger/p2p-keys/v2"
PUBLIC_KEY_SIZE = 32
KEY_SIZE = 32
TAG_SIZE = 16
#: Frames one direction may seal: the 64-bit counter's last value is never used.
COUNTER_LIMIT = 2**64 - 1


class Ephemeral:
    """One link's X25519 key pair; :meth:`agree` is called once, then it is dropped."""

    __slots__ = ("_private", "public")

    def __init__(self) -> None:
        self._private = X25519PrivateKey.generate()
        self.public = self._private.public_key().public_bytes_raw()

    def agree(self, peer_public: bytes) -> bytes:
        """The X25519 shared secret; raises ``HandshakeRefused`` for a bad or low-order key."""
        if len(peer_public) != PUBLIC_KEY_SIZE:
            raise HandshakeRefused("an ephemeral key has 32 bytes")
        try:
            # OpenSSL refuses the all-zero result of a low-order point (RFC 7748 §6.1).
            return self._private.exchange(X25519PublicKey.from_public_bytes(peer_public))
        except ValueError as exc:
            raise HandshakeRefused("the peer's ephemeral key is not usable") from exc

    def __repr__(self) -> str:
        return "Ephemeral(...)"


def derive_keys(shared: bytes, transcript_hash: bytes) -> tuple[bytes, bytes]:
    """``(initiator→responder, responder→initiator)`` frame keys of one session."""
    okm = HKDF(
        algorithm=hashes.SHA256(), length=2 * KEY_SIZE, salt=transcript_hash, info=KEYS_INFO
    ).derive(shared)
    return okm[:KEY_SIZE], okm[KEY_SIZE:]


class FrameCipher:
    """One direction of a link: seals (or opens) frames with the next counter nonce.

    ``limit`` defaults to :attr:`LIMIT` (a class attribute, so that a test can make links
    exhaust after a few frames and watch the transport redial).
    """

    __slots__ = ("_aead", "_limit", "counter")

    LIMIT = COUNTER_LIMIT

    def __init__(self, key: bytes, *, limit: int | None = None) -> None:
        if limit is None:
            limit = self.LIMIT
        if len(key) != KEY_SIZE:
            raise ValueError("a frame key has 32 bytes")
        if not 0 < limit <= COUNTER_LIMIT:
            raise ValueError("the counter limit is within 64 bits")
        self._aead = ChaCha20Poly1305(key)
        self._limit = limit
        #: The counter (= nonce) of the next frame.
        self.counter = 0

    def _nonce(self) -> bytes:
        if self.counter >= self._limit:
            raise CounterExhausted("the frame counter is exhausted; the link must be redialed")
        return self.counter.to_bytes(12, "big")

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        """``ciphertext || tag`` of the next frame; raises ``FrameError`` when exhausted."""
        sealed = self._aead.encrypt(self._nonce(), plaintext, associated)
        self.counter += 1
        return sealed

    def open(self, sealed: bytes, associated: bytes) -> bytes:
        """The plaintext of the next frame; one opaque ``FrameError`` for any failure."""
        nonce = self._nonce()
        try:
            plaintext = self._aead.decrypt(nonce, sealed, associated)
        except InvalidTag:
            raise FrameError("frame failed authentication") from None
        self.counter += 1
        return plaintext

    def __repr__(self) -> str:
        return f"FrameCipher(counter={self.counter})"
