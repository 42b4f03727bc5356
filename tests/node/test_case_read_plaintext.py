"""One-pass decrypt-and-re-hash of stored ciphertext, on a real blob store and real AEAD."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from keys.datakey import DataKey
from keys.stream import encrypt_stream
from node.blobstore.embedded import EmbeddedBlobStore
from node.cases.read.plaintext import hashed_join, verified_plaintext
from node.exceptions import ContentHashMismatch

RID = bytes(32)


def test_a_single_chunk_is_returned_as_is_and_several_are_joined_after_the_digest() -> None:
    one = os.urandom(1000)
    assert hashed_join([one], sha256=hashlib.sha256(one).digest(), what="x", record_id=RID) is one
    parts = [os.urandom(300), b"", os.urandom(5)]
    whole = b"".join(parts)
    assert (
        hashed_join(parts, sha256=hashlib.sha256(whole).digest(), what="x", record_id=RID) == whole
    )
    with pytest.raises(ContentHashMismatch, match="x does not match"):
        hashed_join(parts, sha256=hashlib.sha256(whole[:-1]).digest(), what="x", record_id=RID)


def test_stored_ciphertext_is_served_only_when_key_aad_and_digest_all_match(
    tmp_path: Path,
) -> None:
    blobs = EmbeddedBlobStore(tmp_path / "blobs", durable=False)
    dek, plain = DataKey.generate(), os.urandom(200_000)
    cid = blobs.put(encrypt_stream(dek, [plain], chunk_size=64 * 1024, aad=b"ad"))
    digest = hashlib.sha256(plain).digest()
    got = verified_plaintext(
        blobs=blobs, cid=cid, dek=dek, aad=b"ad", sha256=digest, what="r", record_id=RID
    )
    assert got == plain  # four stream chunks, each hashed as it was decrypted
    refused = [
        {"dek": DataKey.generate(), "aad": b"ad", "sha256": digest},  # another key
        {"dek": dek, "aad": b"other", "sha256": digest},  # bound to another record
        {"dek": dek, "aad": b"ad", "sha256": hashlib.sha256(b"anchored").digest()},
    ]
    for case in refused:
        with pytest.raises(ContentHashMismatch):
            verified_plaintext(blobs=blobs, cid=cid, what="r", record_id=RID, **case)  # type: ignore[arg-type]
