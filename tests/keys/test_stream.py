"""Streaming AEAD: round trips of any shape, and every attack on the chunk sequence fails."""

from __future__ import annotations

import hashlib
import itertools
import os
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.datakey import DataKey
from keys.exceptions import DecryptionError, InvalidKey
from keys.stream import (
    DEFAULT_CHUNK_SIZE,
    HEADER_SIZE,
    MAX_CHUNK_SIZE,
    ciphertext_size,
    decrypt_stream,
    encrypt_stream,
)

KEY = bytes(range(32))
CS = 64  # small chunks so a few hundred bytes make many chunks
TAG = 16


def enc(data: bytes, *, key: bytes = KEY, chunk_size: int = CS, aad: bytes = b"") -> list[bytes]:
    """Encrypt and return [header, chunk0, chunk1, ...]."""
    return list(encrypt_stream(key, [data], chunk_size=chunk_size, aad=aad))


def dec(parts: list[bytes], *, key: bytes = KEY, aad: bytes = b"") -> bytes:
    return b"".join(decrypt_stream(key, parts, aad=aad))


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@given(
    data=st.binary(max_size=700),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    out_cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    chunk_size=st.integers(min_value=16, max_value=200),
)
def test_any_input_split_any_way_round_trips_whatever_the_ciphertext_split(
    data: bytes, cuts: list[int], out_cuts: list[int], chunk_size: int
) -> None:
    ct = b"".join(encrypt_stream(KEY, pieces(data, cuts), chunk_size=chunk_size, aad=b"rec"))
    assert len(ct) == ciphertext_size(len(data), chunk_size=chunk_size)
    assert b"".join(decrypt_stream(KEY, pieces(ct, out_cuts), aad=b"rec")) == data


@pytest.mark.parametrize("size", [0, 1, CS - 1, CS, CS + 1, 2 * CS, 3 * CS + 5])
def test_chunk_boundaries_round_trip_and_produce_the_expected_chunk_count(size: int) -> None:
    data = os.urandom(size)
    parts = enc(data)
    assert len(parts) == 1 + max(1, -(-size // CS))
    assert all(len(p) == CS + TAG for p in parts[1:-1])
    assert dec(parts) == data


def test_two_encryptions_of_the_same_data_share_no_ciphertext() -> None:
    a, b = enc(b"x" * 300), enc(b"x" * 300)
    assert a[0][:11] == b[0][:11] and a[0] != b[0]  # same format, fresh salt
    assert not set(a[1:]) & set(b[1:])


def test_dropping_the_final_chunk_is_detected() -> None:
    parts = enc(os.urandom(5 * CS + 7))
    with pytest.raises(DecryptionError):
        dec(parts[:-1])


def test_truncation_at_an_exact_chunk_boundary_is_detected() -> None:
    parts = enc(os.urandom(4 * CS))  # every chunk full: the cut looks like a clean end
    for keep in range(1, len(parts) - 1):
        with pytest.raises(DecryptionError):
            dec(parts[: keep + 1])


def test_truncation_inside_a_chunk_or_the_header_is_detected() -> None:
    ct = b"".join(enc(os.urandom(3 * CS)))
    for cut in (0, 1, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 5, len(ct) - 1):
        with pytest.raises(DecryptionError):
            dec([ct[:cut]])


def test_reordering_two_chunks_is_detected() -> None:
    parts = enc(os.urandom(4 * CS))
    swapped = [parts[0], parts[2], parts[1], *parts[3:]]
    with pytest.raises(DecryptionError):
        dec(swapped)


def test_duplicating_a_chunk_is_detected() -> None:
    parts = enc(os.urandom(4 * CS))
    with pytest.raises(DecryptionError):
        dec([*parts[:2], parts[1], *parts[2:]])


def test_appending_a_chunk_or_bytes_after_the_final_chunk_is_detected() -> None:
    parts = enc(os.urandom(3 * CS))
    for extra in (parts[1], parts[-1], b"\0" * TAG, b"\0"):
        with pytest.raises(DecryptionError):
            dec([*parts, extra])


def test_swapping_chunks_between_two_streams_under_the_same_key_is_detected() -> None:
    a, b = enc(os.urandom(3 * CS)), enc(os.urandom(3 * CS))
    for i in range(1, len(a)):
        mixed = list(a)
        mixed[i] = b[i]  # same index, same length, same key
        with pytest.raises(DecryptionError):
            dec(mixed)
    with pytest.raises(DecryptionError):
        dec([b[0], *a[1:]])  # the other stream's header


def test_wrong_key_or_wrong_associated_data_is_detected() -> None:
    parts = enc(b"record", aad=b"record-1")
    with pytest.raises(DecryptionError):
        dec(parts, aad=b"record-2")
    with pytest.raises(DecryptionError):
        dec(parts, key=bytes(32), aad=b"record-1")


@pytest.mark.parametrize(
    ("offset", "value"),
    [(0, 0x00), (6, 2), (7, 0xFF), (10, CS + 1), (11, 0x01)],
    ids=["magic", "version", "chunk-size-huge", "chunk-size-other", "salt"],
)
def test_a_tampered_header_is_detected(offset: int, value: int) -> None:
    parts = enc(os.urandom(2 * CS))
    header = bytearray(parts[0])
    header[offset] = value if header[offset] != value else value ^ 1
    with pytest.raises(DecryptionError):
        dec([bytes(header), *parts[1:]])


def test_every_single_bit_flip_anywhere_in_a_small_stream_is_detected() -> None:
    ct = b"".join(enc(os.urandom(2 * CS + 3)))
    for i in range(len(ct) * 8):
        bad = bytearray(ct)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(DecryptionError):
            dec([bytes(bad)])


def test_no_plaintext_of_a_chunk_is_released_before_that_chunk_authenticates() -> None:
    data = os.urandom(3 * CS)
    parts = enc(data)
    bad = bytearray(parts[2])
    bad[0] ^= 1  # corrupt the second chunk's first byte
    out: list[bytes] = []
    with pytest.raises(DecryptionError):
        for piece in decrypt_stream(KEY, [parts[0], parts[1], bytes(bad), parts[3]]):
            out.append(piece)
    assert out == [data[:CS]]  # the authenticated first chunk only; nothing of the second


def test_empty_input_and_garbage_are_opaque_errors_not_crashes() -> None:
    for garbage in ([], [b""], [b"MLSTRM"], [os.urandom(200)]):
        with pytest.raises(DecryptionError):
            dec(garbage)


def test_keys_and_chunk_sizes_are_validated_when_called_not_when_iterated() -> None:
    with pytest.raises(InvalidKey):
        encrypt_stream(b"short", [b""])
    with pytest.raises(InvalidKey):
        decrypt_stream(b"short", [b""])
    with pytest.raises(ValueError):
        encrypt_stream(KEY, [b""], chunk_size=MAX_CHUNK_SIZE + 1)
    with pytest.raises(ValueError):
        encrypt_stream(KEY, [b""], chunk_size=8)


def _generated(total: int, piece: int) -> Iterator[bytes]:
    """Deterministic pseudo-random bytes, produced one piece at a time."""
    block = hashlib.sha256(b"seed").digest() * (piece // 32)
    for i in range(total // piece):
        yield i.to_bytes(8, "big") + block[8:]


def test_a_64_mib_stream_round_trips_in_constant_memory() -> None:
    total, piece = 64 << 20, 256 << 10  # odd relation to the 1 MiB chunk on purpose
    expected = hashlib.sha256()
    for p in _generated(total, piece):
        expected.update(p)

    tracemalloc.start()
    try:
        got = hashlib.sha256()
        n = 0
        ct = encrypt_stream(KEY, _generated(total, piece), aad=b"big")
        for p in decrypt_stream(KEY, ct, aad=b"big"):
            got.update(p)
            n += len(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == total
    assert got.digest() == expected.digest()
    # A few chunks in flight (input piece, re-chunk buffer, ciphertext, plaintext), never
    # anything proportional to the 64 MiB input.
    assert peak < 8 * DEFAULT_CHUNK_SIZE, peak
    print(f"peak traced memory: {peak / 2**20:.2f} MiB for a {total >> 20} MiB stream")


def test_a_caller_reusing_one_mutable_read_buffer_gets_correct_output() -> None:
    """Like a file read with readinto(): every piece is the same bytearray, overwritten."""
    data = os.urandom(10 * CS + 7)

    def reused(blob: bytes, step: int) -> Iterator[bytearray]:
        buf = bytearray(step)
        for i in range(0, len(blob), step):
            part = blob[i : i + step]
            buf[: len(part)] = part
            del buf[len(part) :]
            yield buf
            buf[:] = b"\xee" * len(buf)  # clobber what the consumer may still hold

    for step in (7, CS - 1, CS, CS + 3):
        ct = b"".join(encrypt_stream(KEY, reused(data, step), chunk_size=CS))
        assert b"".join(decrypt_stream(KEY, reused(ct, step))) == data


def test_a_data_key_object_is_accepted_where_key_bytes_are() -> None:
    dek = DataKey.generate()
    ct = list(encrypt_stream(dek, [b"payload"]))
    assert b"".join(decrypt_stream(bytes(dek), ct)) == b"payload"
    assert b"".join(decrypt_stream(dek, ct)) == b"payload"
