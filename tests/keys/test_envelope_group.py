"""Group wrap (format 2): one HPKE seal per ingest group, each DEK sealed under the group KEK."""

from __future__ import annotations

import pickle

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.datakey import DataKey
from keys.envelope import WRAPPED_SIZE, EncryptionKeyring, EncryptionPublicKey, parse_wrapped
from keys.envelope_group import GROUP_WRAPPED_SIZE, GroupWrappedKey
from keys.exceptions import MalformedWrappedKey, UnwrapError
from keys.typing import KeyVersion, RecordId

REC = RecordId(b"record-0001")
OTHER = RecordId(b"record-0002")


@pytest.fixture(scope="module")
def keyring() -> EncryptionKeyring:
    return EncryptionKeyring({1: X25519PrivateKey.generate()})


def test_every_record_of_a_group_unwraps_to_its_own_key_with_the_hospital_keyring(
    keyring: EncryptionKeyring,
) -> None:
    group = keyring.public_key().group_wrapper()
    deks = [DataKey.generate() for _ in range(5)]
    wrapped = [group.wrap(d, record_id=bytes([i]) * 8).to_bytes() for i, d in enumerate(deks)]
    assert {len(w) for w in wrapped} == {GROUP_WRAPPED_SIZE}
    assert len({w[5:85] for w in wrapped}) == 1  # one sealed KEK shared by the group
    for i, (dek, blob) in enumerate(zip(deks, wrapped, strict=True)):
        assert keyring.unwrap(blob, record_id=bytes([i]) * 8) == dek


def test_a_group_wrapped_key_moved_to_another_record_of_the_group_does_not_unwrap(
    keyring: EncryptionKeyring,
) -> None:
    group = keyring.public_key().group_wrapper()
    wrapped = group.wrap(DataKey.generate(), record_id=REC)
    group.wrap(DataKey.generate(), record_id=OTHER)
    with pytest.raises(UnwrapError):
        keyring.unwrap(wrapped, record_id=OTHER)


def test_a_group_wrapped_key_relabelled_with_another_version_does_not_unwrap() -> None:
    ring = EncryptionKeyring({1: X25519PrivateKey.generate()}).with_new_version()
    wrapped = ring.public_key(1).group_wrapper().wrap(DataKey.generate(), record_id=REC)
    relabelled = GroupWrappedKey(KeyVersion(2), wrapped.sealed_kek, wrapped.sealed_dek)
    with pytest.raises(UnwrapError):
        ring.unwrap(relabelled.to_bytes(), record_id=REC)
    assert ring.unwrap(wrapped.to_bytes(), record_id=REC)


def test_another_hospital_cannot_unwrap_a_group_wrapped_key(keyring: EncryptionKeyring) -> None:
    wrapped = keyring.public_key().group_wrapper().wrap(DataKey.generate(), record_id=REC)
    with pytest.raises(UnwrapError):
        EncryptionKeyring({1: X25519PrivateKey.generate()}).unwrap(wrapped, record_id=REC)


@settings(max_examples=60)
@given(position=st.integers(0, GROUP_WRAPPED_SIZE - 1), delta=st.integers(1, 255))
def test_any_single_byte_change_of_a_group_wrapped_key_is_one_opaque_error(
    keyring: EncryptionKeyring, position: int, delta: int
) -> None:
    group = keyring.public_key().group_wrapper()
    wrapped = bytearray(group.wrap(DataKey(bytes(32)), record_id=REC).to_bytes())
    wrapped[position] = (wrapped[position] + delta) % 256
    with pytest.raises(UnwrapError):
        keyring.unwrap(bytes(wrapped), record_id=REC)


def test_malformed_group_wrapped_keys_are_clear_parse_errors(keyring: EncryptionKeyring) -> None:
    good = keyring.public_key().group_wrapper().wrap(DataKey.generate(), record_id=REC).to_bytes()
    for bad in (good[:-1], good + b"\0", good[:1] + bytes(4) + good[5:], good[:WRAPPED_SIZE]):
        with pytest.raises(MalformedWrappedKey):
            parse_wrapped(bad)
        with pytest.raises(UnwrapError):
            keyring.unwrap(bad, record_id=REC)
    assert parse_wrapped(good) == GroupWrappedKey.from_bytes(good)
    assert GroupWrappedKey.from_bytes(good).to_bytes() == good


def test_a_grant_and_a_rotation_rewrap_a_group_wrapped_key_alone_in_format_1() -> None:
    """The grantee gets the record's DEK wrapped to its own key, never the group KEK."""
    ring = EncryptionKeyring({1: X25519PrivateKey.generate()})
    dek = DataKey.generate()
    wrapped = ring.public_key().group_wrapper().wrap(dek, record_id=REC).to_bytes()
    grantee = EncryptionKeyring({3: X25519PrivateKey.generate()})
    granted = EncryptionPublicKey(3, grantee.public_key().public_bytes()).wrap(
        ring.unwrap(wrapped, record_id=REC), record_id=REC
    )
    assert len(granted.to_bytes()) == WRAPPED_SIZE
    assert grantee.unwrap(granted.to_bytes(), record_id=REC) == dek
    rotated = ring.with_new_version()
    moved = rotated.rewrap(wrapped, record_id=REC)
    assert moved.key_version == 2
    assert EncryptionKeyring({2: rotated.private_key(2)}).unwrap(moved, record_id=REC) == dek


def test_a_group_wrapper_shows_and_ships_no_key_material(keyring: EncryptionKeyring) -> None:
    group = keyring.public_key().group_wrapper()
    assert "redacted" in repr(group)
    with pytest.raises(TypeError):
        pickle.dumps(group)
