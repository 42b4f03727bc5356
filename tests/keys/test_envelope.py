"""Envelope encryption: per-record data keys wrapped with HPKE to versioned hospital keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from keys.datakey import DataKey
from keys.envelope import (
    WRAPPED_SIZE,
    EncryptionKeyring,
    EncryptionPublicKey,
    WrappedKey,
)
from keys.exceptions import InvalidKey, MalformedWrappedKey, UnwrapError
from keys.stream import decrypt_stream, encrypt_stream
from keys.typing import KeyVersion, RecordId

REC = RecordId(b"record-0001")


@pytest.fixture(scope="module")
def keyring() -> EncryptionKeyring:
    return EncryptionKeyring({1: X25519PrivateKey.generate()})


def test_a_record_encrypted_with_a_fresh_data_key_is_readable_after_unwrapping(
    keyring: EncryptionKeyring,
) -> None:
    dek = DataKey.generate()
    ciphertext = list(encrypt_stream(bytes(dek), [b"FHIR bundle bytes"], aad=REC))
    wrapped = keyring.wrap(dek, record_id=REC).to_bytes()
    assert len(wrapped) == WRAPPED_SIZE
    unwrapped = keyring.unwrap(wrapped, record_id=REC)
    assert unwrapped == dek
    assert b"".join(decrypt_stream(bytes(unwrapped), ciphertext, aad=REC)) == b"FHIR bundle bytes"


def test_each_record_gets_its_own_data_key() -> None:
    assert len({bytes(DataKey.generate()) for _ in range(64)}) == 64


def test_a_wrapped_key_moved_to_another_record_does_not_unwrap(keyring: EncryptionKeyring) -> None:
    wrapped = keyring.wrap(DataKey.generate(), record_id=REC)
    with pytest.raises(UnwrapError):
        keyring.unwrap(wrapped, record_id=RecordId(b"record-0002"))


def test_a_wrapped_key_relabelled_with_another_version_does_not_unwrap() -> None:
    ring = EncryptionKeyring({1: X25519PrivateKey.generate()}).with_new_version()
    wrapped = ring.public_key(1).wrap(DataKey.generate(), record_id=REC)
    relabelled = WrappedKey(KeyVersion(2), wrapped.sealed)
    with pytest.raises(UnwrapError):
        ring.unwrap(relabelled, record_id=REC)
    assert ring.unwrap(wrapped, record_id=REC)  # the genuine one still works


def test_another_hospitals_keyring_cannot_unwrap(keyring: EncryptionKeyring) -> None:
    other = EncryptionKeyring({1: X25519PrivateKey.generate()})
    wrapped = keyring.wrap(DataKey.generate(), record_id=REC)
    with pytest.raises(UnwrapError):
        other.unwrap(wrapped, record_id=REC)


def test_a_grant_wraps_to_the_grantees_published_public_key() -> None:
    """Flow 4: L wraps a record's DEK to U's current key as read from chain (raw bytes)."""
    upper = EncryptionKeyring({1: X25519PrivateKey.generate()}).with_new_version()
    on_chain = (upper.current_version, upper.public_key().public_bytes())
    dek = DataKey.generate()
    wrapped = EncryptionPublicKey(*on_chain).wrap(dek, record_id=REC).to_bytes()
    assert upper.unwrap(wrapped, record_id=REC) == dek


@given(position=st.integers(min_value=0, max_value=WRAPPED_SIZE - 1), delta=st.integers(1, 255))
def test_any_single_byte_change_of_a_wrapped_key_is_one_opaque_error(
    keyring: EncryptionKeyring, position: int, delta: int
) -> None:
    wrapped = bytearray(keyring.wrap(DataKey(bytes(32)), record_id=REC).to_bytes())
    wrapped[position] = (wrapped[position] + delta) % 256
    with pytest.raises(UnwrapError):
        keyring.unwrap(bytes(wrapped), record_id=REC)


def test_malformed_wrapped_keys_are_rejected_with_a_clear_parse_error(
    keyring: EncryptionKeyring,
) -> None:
    good = keyring.wrap(DataKey.generate(), record_id=REC).to_bytes()
    for bad in (b"", good[:-1], good + b"\0", b"\x02" + good[1:], good[:1] + bytes(4) + good[5:]):
        with pytest.raises(MalformedWrappedKey):
            WrappedKey.from_bytes(bad)
        with pytest.raises(UnwrapError):
            keyring.unwrap(bad, record_id=REC)
    assert WrappedKey.from_bytes(good).to_bytes() == good


def test_rotation_keeps_old_versions_unwrapping_until_rewrapped() -> None:
    v1 = EncryptionKeyring({1: X25519PrivateKey.generate()})
    dek = DataKey.generate()
    old = v1.wrap(dek, record_id=REC)
    rotated = v1.with_new_version()
    assert rotated.versions == (1, 2) and rotated.current_version == 2
    assert v1.versions == (1,)  # rotation returns a new keyring; the old one is unchanged
    assert rotated.unwrap(old, record_id=REC) == dek
    new = rotated.rewrap(old, record_id=REC)
    assert new.key_version == 2
    retired = EncryptionKeyring({2: rotated.private_key(2)})  # v1 deleted after re-wrapping
    assert retired.unwrap(new, record_id=REC) == dek
    with pytest.raises(UnwrapError):
        retired.unwrap(old, record_id=REC)


def test_keyrings_and_keys_are_validated_at_construction() -> None:
    with pytest.raises(InvalidKey):
        EncryptionKeyring({})
    with pytest.raises(InvalidKey):
        EncryptionKeyring({0: X25519PrivateKey.generate()})
    with pytest.raises(InvalidKey):
        EncryptionKeyring({1: "not a key"})  # type: ignore[dict-item]
    with pytest.raises(InvalidKey):
        EncryptionPublicKey(1, b"short")
    with pytest.raises(InvalidKey):
        DataKey(b"short")
    with pytest.raises(ValueError):
        EncryptionKeyring({1: X25519PrivateKey.generate()}).wrap(DataKey.generate(), record_id=b"")
