"""The only module that calls raw AEAD and HPKE primitives.

Everything else in the package goes through these few functions, so the choice of
algorithms, the nonce/key sizes and the translation of every library failure into our one
opaque error live in one place that can be audited (and tested against published vectors).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keys.exceptions import DecryptionError, InvalidKey
from keys.typing import BytesLike

AES_KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
#: HPKE suite of RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode.
HPKE_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
HPKE_ENC_SIZE = 32


class Aead:
    """AES-256-GCM with a key validated once, at construction."""

    __slots__ = ("_aesgcm",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != AES_KEY_SIZE:
            raise InvalidKey("AES-256-GCM needs a 32-byte key")
        self._aesgcm = AESGCM(key)

    def __repr__(self) -> str:
        return "Aead(<AES-256-GCM key redacted>)"

    def seal(self, nonce: bytes, plaintext: BytesLike, aad: bytes) -> bytes:
        """Encrypt and authenticate; returns ciphertext || 16-byte tag."""
        return self._aesgcm.encrypt(nonce, plaintext, aad)

    def open(self, nonce: bytes, ciphertext: BytesLike, aad: bytes) -> bytes:
        """Authenticate then decrypt; any failure is the opaque :class:`DecryptionError`."""
        try:
            return self._aesgcm.decrypt(nonce, ciphertext, aad)
        except (InvalidTag, ValueError, OverflowError):
            raise DecryptionError("decryption failed") from None


def derive_key(ikm: bytes, *, salt: bytes, info: bytes, length: int = AES_KEY_SIZE) -> bytes:
    """HKDF-SHA256 (RFC 5869): a subkey bound to ``salt`` and ``info``."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def hpke_seal(public_key: X25519PublicKey, plaintext: bytes, *, info: bytes) -> bytes:
    """HPKE single-shot base-mode encryption; returns ``enc || ciphertext``."""
    return HPKE_SUITE.encrypt(plaintext, public_key, info=info)


def hpke_open(private_key: X25519PrivateKey, sealed: bytes, *, info: bytes) -> bytes:
    """HPKE single-shot base-mode decryption; any failure is :class:`DecryptionError`."""
    try:
        return HPKE_SUITE.decrypt(sealed, private_key, info=info)
    except Exception:  # every library failure must look the same to callers
        raise DecryptionError("decryption failed") from None
