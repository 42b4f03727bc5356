"""Streaming authenticated encryption: AES-256-GCM over fixed-size chunks.

Format (version 1)::

    header  = b"MLSTRM" | version u8 = 1 | chunk_size u32 BE | salt (32 random bytes)
    chunk_i = AES-256-GCM(subkey, nonce_i, plaintext_i, aad_i)          (ciphertext || tag)

    subkey  = HKDF-SHA256(key, salt=salt, info=b"medledger/stream/v1")
    nonce_i = i as u64 BE | last as u32 BE
    aad_i   = header | i as u64 BE | last as u8 | caller's aad

Every chunk but the last holds exactly ``chunk_size`` plaintext bytes; the last holds
0..chunk_size and is the only one flagged ``last``. This is the STREAM construction
(Hoang, Reyhanitabar, Rogaway, Vizár 2015): the per-stream random salt gives each stream its
own subkey, so chunks cannot be moved between two streams under the same key; the index
in nonce and AAD detects reordering and duplication; the last flag detects truncation at a
chunk boundary and appended chunks; the header in every AAD detects a changed chunk size.

A chunk's plaintext is yielded only after its tag has verified. A stream is only proven
complete when iteration ends without error: a consumer must discard what it received if
:class:`~keys.exceptions.DecryptionError` is raised at any point.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator

from keys._chunking import fixed_chunks, split_prefix
from keys._primitives import TAG_SIZE, Aead, derive_key
from keys.datakey import DataKey
from keys.exceptions import DecryptionError, InvalidKey
from keys.typing import BytesLike

MAGIC = b"MLSTRM"
VERSION = 1
SALT_SIZE = 32
_HEADER = struct.Struct(f">{len(MAGIC)}sBI{SALT_SIZE}s")
HEADER_SIZE = _HEADER.size
DEFAULT_CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 16
#: A decryptor buffers one chunk; a hostile header must not make it buffer more than this.
MAX_CHUNK_SIZE = 16 << 20
_INFO = b"medledger/stream/v1"

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "HEADER_SIZE",
    "MAX_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "ciphertext_size",
    "decrypt_stream",
    "encrypt_stream",
]


def _check_key(key: bytes | DataKey) -> bytes:
    if isinstance(key, DataKey):
        return bytes(key)
    if not isinstance(key, bytes) or len(key) != 32:
        raise InvalidKey("stream key must be 32 bytes")
    return key


def _check_chunk_size(chunk_size: int) -> None:
    if not isinstance(chunk_size, int) or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be in [{MIN_CHUNK_SIZE}, {MAX_CHUNK_SIZE}]")


def _nonce(index: int, last: bool) -> bytes:
    return struct.pack(">QI", index, last)


def _aad(header: bytes, index: int, last: bool, aad: bytes) -> bytes:
    return header + struct.pack(">QB", index, last) + aad


def ciphertext_size(plaintext_size: int, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Exact size of the encrypted stream for a plaintext of ``plaintext_size`` bytes."""
    chunks = max(1, -(-plaintext_size // chunk_size))
    return HEADER_SIZE + plaintext_size + chunks * TAG_SIZE


def encrypt_stream(
    key: bytes | DataKey,
    source: Iterable[bytes],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    aad: bytes = b"",
) -> Iterator[bytes]:
    """Encrypt an iterable of byte strings of any sizes into a chunked AEAD stream.

    Parameters
    ----------
    key
        32-byte data key (or a :class:`~keys.datakey.DataKey`); validated now, not at
        first iteration.
    source
        Plaintext in pieces of any size (including empty ones).
    chunk_size
        Plaintext bytes per chunk; memory use is about one chunk.
    aad
        Associated data bound to every chunk (e.g. the record id); needed again to decrypt.

    Returns
    -------
    Iterator[bytes]
        The header, then one ciphertext chunk at a time.
    """
    raw = _check_key(key)
    _check_chunk_size(chunk_size)
    return _encrypt(raw, source, chunk_size, bytes(aad))


def _encrypt(
    key: bytes, source: Iterable[BytesLike], chunk_size: int, aad: bytes
) -> Iterator[bytes]:
    salt = os.urandom(SALT_SIZE)
    header = _HEADER.pack(MAGIC, VERSION, chunk_size, salt)
    aead = Aead(derive_key(key, salt=salt, info=_INFO))
    yield header
    for index, (piece, last) in enumerate(fixed_chunks(source, chunk_size)):
        yield aead.seal(_nonce(index, last), piece, _aad(header, index, last, aad))


def decrypt_stream(
    key: bytes | DataKey,
    source: Iterable[bytes],
    *,
    aad: bytes = b"",
) -> Iterator[bytes]:
    """Decrypt a stream made by :func:`encrypt_stream`, one authenticated chunk at a time.

    Raises
    ------
    DecryptionError
        For every failure (wrong key or aad, corrupt, truncated, reordered, duplicated,
        appended or foreign chunks, bad header), possibly after earlier chunks were
        yielded: discard the output unless iteration completes.
    """
    raw = _check_key(key)
    return _decrypt(raw, source, bytes(aad))


def _decrypt(key: bytes, source: Iterable[BytesLike], aad: bytes) -> Iterator[bytes]:
    header, rest = split_prefix(source, HEADER_SIZE)
    if len(header) != HEADER_SIZE:
        raise DecryptionError("decryption failed")
    magic, version, chunk_size, salt = _HEADER.unpack(header)
    if magic != MAGIC or version != VERSION or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("decryption failed")
    aead = Aead(derive_key(key, salt=salt, info=_INFO))
    for index, (piece, last) in enumerate(fixed_chunks(rest, chunk_size + TAG_SIZE)):
        yield aead.open(_nonce(index, last), piece, _aad(header, index, last, aad))
