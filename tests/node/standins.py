"""STAND-INS for the collaborators ingest calls; the real ones come from other packages.

- :class:`AesGcmCipher` stands in for the keys package's streaming AEAD (chunked
  AES-256-GCM): here one AES-256-GCM call from ``cryptography`` (real crypto, no chunking).
- :class:`DirStore` stands in for the content-addressed blob store: files in a temp dir named
  by the SHA-256 of the ciphertext (not a real IPFS CID).
- :class:`AesGcmWrapper` stands in for HPKE wrapping to the hospital's X25519 key: AES-GCM
  under a hospital key-encryption key.

They are honest implementations of the interfaces, not mocks: ingest's output can be
decrypted and checked with them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from node.ingest.abc import KeyWrapperAPI, PayloadCipherAPI, PayloadStoreAPI
from node.typing import CID


class AesGcmCipher(PayloadCipherAPI):
    def new_data_key(self) -> bytes:
        return AESGCM.generate_key(bit_length=256)

    def encrypt(self, *, data_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(data_key).encrypt(nonce, plaintext, associated_data)

    @staticmethod
    def decrypt(*, data_key: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
        return AESGCM(data_key).decrypt(ciphertext[:12], ciphertext[12:], associated_data)


class DirStore(PayloadStoreAPI):
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.fail_after: int | None = None  # make the n-th put fail, to test cleanup

    def put(self, ciphertext: bytes) -> CID:
        if self.fail_after is not None:
            if self.fail_after == 0:
                raise OSError("stand-in store: disk full")
            self.fail_after -= 1
        cid = CID("sha256-" + hashlib.sha256(ciphertext).hexdigest())
        (self.root / cid).write_bytes(ciphertext)
        return cid

    def discard(self, cid: CID) -> None:
        (self.root / cid).unlink(missing_ok=True)

    def get(self, cid: CID) -> bytes:
        return (self.root / cid).read_bytes()

    def cids(self) -> set[str]:
        return {p.name for p in self.root.iterdir()}


class AesGcmWrapper(KeyWrapperAPI):
    def __init__(self) -> None:
        self.kek = AESGCM.generate_key(bit_length=256)
        self.fail = False

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        if self.fail:
            raise RuntimeError("stand-in wrapper: key unavailable")
        nonce = os.urandom(12)
        return nonce + AESGCM(self.kek).encrypt(nonce, data_key, associated_data)

    def unwrap(self, wrapped: bytes, *, associated_data: bytes) -> bytes:
        return AESGCM(self.kek).decrypt(wrapped[:12], wrapped[12:], associated_data)
