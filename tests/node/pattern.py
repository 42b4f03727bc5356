"""Deterministic test content shared with ``unixfs_cids.mjs``: the AES-128-CTR keystream of an
all-zero key and counter, generated piece by piece (fast in both languages, never repeats)."""

from __future__ import annotations

from collections.abc import Iterator

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PIECE = 1 << 20


def pattern(size: int, piece: int = PIECE) -> Iterator[bytes]:
    enc = Cipher(algorithms.AES(bytes(16)), modes.CTR(bytes(16))).encryptor()
    left = size
    while left > 0:
        n = min(piece, left)
        yield enc.update(bytes(n))
        left -= n
