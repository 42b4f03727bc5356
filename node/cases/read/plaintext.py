"""Decrypt a stored ciphertext and re-hash its plaintext in the same pass.

Each authenticated chunk is hashed as soon as it is decrypted, while it is still in cache,
and the chunks are kept as they are: a plaintext of one stream chunk (every record up to
1 MiB with the default chunk size) is the very ``bytes`` object the AEAD returned, with no
join and no second read. Nothing is returned unless the whole stream authenticated and the
digest equals the anchored one. ``hashlib`` and AES-GCM release the GIL on large inputs,
so concurrent requests overlap this work on the worker threads they already run on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from keys.datakey import DataKey
from keys.exceptions import KeysError
from keys.stream import decrypt_stream
from node.blobstore.abc import BlobStoreAPI
from node.blobstore.cid import normalize
from node.exceptions import ContentHashMismatch, NodeError


def hashed_join(chunks: Iterable[bytes], *, sha256: bytes, what: str, record_id: bytes) -> bytes:
    """``chunks`` joined, after checking they hash to ``sha256`` (one pass, no copy of one).

    Raises :class:`~node.exceptions.ContentHashMismatch` naming ``what`` when the digest
    differs.
    """
    digest = hashlib.sha256()
    parts: list[bytes] = []
    for chunk in chunks:
        digest.update(chunk)
        parts.append(chunk)
    if digest.digest() != bytes(sha256):
        raise ContentHashMismatch(f"{what} does not match its anchored hash", record_id=record_id)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def verified_plaintext(
    *,
    blobs: BlobStoreAPI,
    cid: str,
    dek: DataKey,
    aad: bytes,
    sha256: bytes,
    what: str,
    record_id: bytes,
) -> bytes:
    """The plaintext of ``cid`` under ``dek``/``aad``, refused unless it hashes to ``sha256``.

    Every failure (missing or corrupted blocks, wrong key, tampered chunk, other digest) is
    one :class:`~node.exceptions.ContentHashMismatch`: a record that cannot be verified is
    never served.
    """
    try:
        return hashed_join(decrypt_stream(dek, blobs.get(normalize(cid)), aad=aad),
                           sha256=sha256, what=what, record_id=record_id)  # fmt: skip
    except ContentHashMismatch:
        raise
    except (KeysError, NodeError, ValueError) as exc:
        raise ContentHashMismatch(f"{what} cannot be decrypted", record_id=record_id) from exc
