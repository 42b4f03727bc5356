"""The node key: secp256k1 signing of 32-byte digests and recovery of the signer address."""

from __future__ import annotations

from coincurve import PrivateKey, PublicKey

from ledger.p2p.exceptions import FrameError
from ledger.seal import address_of
from ledger.typing import Address


class NodeKey:
    """A validator's key used to authenticate its p2p links (never logged)."""

    __slots__ = ("_key", "address")

    def __init__(self, private_key: bytes) -> None:
        self._key = PrivateKey(private_key)
        self.address: Address = address_of(self._key.public_key)

    def sign(self, digest: bytes) -> bytes:
        """65 bytes ``r || s || v`` over a 32-byte digest."""
        return bytes(self._key.sign_recoverable(digest, hasher=None))

    def __repr__(self) -> str:
        return f"NodeKey(0x{self.address.hex()})"


def recover(digest: bytes, signature: bytes) -> Address:
    """The address whose key made ``signature`` over ``digest``; raises ``FrameError``."""
    if len(signature) != 65:
        raise FrameError("a signature has 65 bytes")
    try:
        public = PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except Exception as exc:  # coincurve raises ValueError or its own errors
        raise FrameError("signature does not recover") from exc
    return address_of(public)
