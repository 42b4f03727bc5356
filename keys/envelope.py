"""Envelope encryption: a per-record data key wrapped to a hospital's X25519 key with HPKE.

The wrap is HPKE base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM
(RFC 9180). The HPKE ``info`` binds the recipient key version and the record id, so a
wrapped key copied onto another record, or relabelled with another version, does not
unwrap. HPKE itself binds the recipient public key (it is in the KEM context).

Wire form of a wrapped key (version 1, 85 bytes)::

    format u8 = 1 | key_version u32 BE | enc (32) | AES-256-GCM(DEK) with tag (48)

Bulk ingest wraps in format 2 (:mod:`keys.envelope_group`: one HPKE seal per group of
records); :meth:`EncryptionKeyring.unwrap` reads both formats, and every re-wrap (rotation,
grants) writes format 1.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from keys._primitives import HPKE_ENC_SIZE, TAG_SIZE, hpke_open, hpke_seal
from keys.abc import KeyringAPI
from keys.datakey import DATA_KEY_SIZE, DataKey
from keys.envelope_group import GroupWrappedKey, GroupWrapper, open_group_wrapped
from keys.exceptions import DecryptionError, InvalidKey, MalformedWrappedKey, UnwrapError
from keys.typing import KeyVersion, RecordId

WRAP_FORMAT = 1
_PREFIX = struct.Struct(">BI")
SEALED_SIZE = HPKE_ENC_SIZE + DATA_KEY_SIZE + TAG_SIZE
WRAPPED_SIZE = _PREFIX.size + SEALED_SIZE
MAX_RECORD_ID = 255
_INFO_LABEL = b"medledger/dek-wrap/v1"


def _info(record_id: bytes, key_version: int) -> bytes:
    if not isinstance(record_id, bytes) or not 1 <= len(record_id) <= MAX_RECORD_ID:
        raise ValueError(f"record_id must be 1..{MAX_RECORD_ID} bytes")
    return _INFO_LABEL + struct.pack(">IB", key_version, len(record_id)) + record_id


def _check_version(version: int) -> KeyVersion:
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version < 2**32:
        raise InvalidKey("key versions are integers in [1, 2**32)")
    return KeyVersion(version)


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A DEK sealed to one version of a hospital's encryption key; safe to publish."""

    key_version: KeyVersion
    sealed: bytes

    def __post_init__(self) -> None:
        _check_version(self.key_version)
        if len(self.sealed) != SEALED_SIZE:
            raise MalformedWrappedKey(f"sealed part must be {SEALED_SIZE} bytes")

    def to_bytes(self) -> bytes:
        """The 85-byte wire form."""
        return _PREFIX.pack(WRAP_FORMAT, self.key_version) + self.sealed

    @classmethod
    def from_bytes(cls, data: bytes) -> WrappedKey:
        """Parse the wire form, rejecting other lengths and unknown formats."""
        if not isinstance(data, bytes) or len(data) != WRAPPED_SIZE:
            raise MalformedWrappedKey(f"a wrapped key is {WRAPPED_SIZE} bytes")
        fmt, version = _PREFIX.unpack_from(data)
        if fmt != WRAP_FORMAT or version == 0:
            raise MalformedWrappedKey("unknown wrapped-key format")
        return cls(KeyVersion(version), data[_PREFIX.size :])


class EncryptionPublicKey:
    """One version of a hospital's public encryption key (as published on chain)."""

    __slots__ = ("_key", "version")

    def __init__(self, version: int, key: X25519PublicKey | bytes) -> None:
        self.version = _check_version(version)
        if isinstance(key, bytes):
            if len(key) != 32:
                raise InvalidKey("an X25519 public key is 32 bytes")
            key = X25519PublicKey.from_public_bytes(key)
        if not isinstance(key, X25519PublicKey):
            raise InvalidKey("expected an X25519 public key")
        self._key = key

    def public_bytes(self) -> bytes:
        """The raw 32-byte key."""
        return self._key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    def __repr__(self) -> str:
        return f"EncryptionPublicKey(version={self.version}, key={self.public_bytes().hex()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EncryptionPublicKey):
            return NotImplemented
        return (self.version, self.public_bytes()) == (other.version, other.public_bytes())

    def __hash__(self) -> int:
        return hash((self.version, self.public_bytes()))

    def wrap(self, dek: DataKey, *, record_id: RecordId | bytes) -> WrappedKey:
        """Seal ``dek`` to this key for ``record_id`` only."""
        if not isinstance(dek, DataKey):
            raise TypeError("wrap() takes a DataKey")
        info = _info(record_id, self.version)
        return WrappedKey(self.version, hpke_seal(self._key, bytes(dek), info=info))

    def group_wrapper(self) -> GroupWrapper:
        """A wrapper for one group of records: one HPKE seal (of a fresh KEK) for all of them."""
        return GroupWrapper(self.version, self._key)


def parse_wrapped(data: bytes) -> WrappedKey | GroupWrappedKey:
    """Either wire form (format 1 or 2), told apart by the format byte."""
    if isinstance(data, bytes) and data[:1] == bytes([GroupWrappedKey.FORMAT]):
        return GroupWrappedKey.from_bytes(data)
    return WrappedKey.from_bytes(data)


class EncryptionKeyring(KeyringAPI):
    """All versions of one hospital's X25519 private key, newest used for new wraps.

    Old versions stay to unwrap what was wrapped to them until :meth:`rewrap` has moved
    every wrapped key to the current version (then the old version can be retired).
    """

    __slots__ = ("_keys",)

    def __init__(self, keys: Mapping[int, X25519PrivateKey]) -> None:
        if not keys:
            raise InvalidKey("a keyring needs at least one key")
        checked: dict[KeyVersion, X25519PrivateKey] = {}
        for version, key in keys.items():
            if not isinstance(key, X25519PrivateKey):
                raise InvalidKey("keyring entries must be X25519 private keys")
            checked[_check_version(version)] = key
        self._keys = checked

    def __repr__(self) -> str:
        return f"EncryptionKeyring(versions={self.versions})"

    @property
    def versions(self) -> tuple[KeyVersion, ...]:
        return tuple(sorted(self._keys))

    @property
    def current_version(self) -> KeyVersion:
        return max(self._keys)

    def public_key(self, version: int | None = None) -> EncryptionPublicKey:
        v = self.current_version if version is None else _check_version(version)
        if v not in self._keys:
            raise InvalidKey(f"no key version {v} in this keyring")
        return EncryptionPublicKey(v, self._keys[v].public_key())

    def wrap(self, dek: DataKey, *, record_id: RecordId | bytes) -> WrappedKey:
        return self.public_key().wrap(dek, record_id=record_id)

    def unwrap(
        self, wrapped: WrappedKey | GroupWrappedKey | bytes, *, record_id: RecordId | bytes
    ) -> DataKey:
        """Either format; every failure is the same opaque :class:`UnwrapError`."""
        try:
            if isinstance(wrapped, bytes):
                wrapped = parse_wrapped(wrapped)
            key = self._keys.get(wrapped.key_version)
            if key is None:
                raise UnwrapError("unwrap failed")
            if isinstance(wrapped, GroupWrappedKey):
                return open_group_wrapped(key, wrapped, record_id=record_id)
            material = hpke_open(key, wrapped.sealed, info=_info(record_id, wrapped.key_version))
            return DataKey(material)
        except (DecryptionError, MalformedWrappedKey, InvalidKey, ValueError):
            raise UnwrapError("unwrap failed") from None

    def rewrap(
        self, wrapped: WrappedKey | GroupWrappedKey | bytes, *, record_id: RecordId | bytes
    ) -> WrappedKey:
        return self.wrap(self.unwrap(wrapped, record_id=record_id), record_id=record_id)

    def with_new_version(self, key: X25519PrivateKey | None = None) -> EncryptionKeyring:
        new: dict[int, X25519PrivateKey] = {int(v): k for v, k in self._keys.items()}
        new[KeyVersion(self.current_version + 1)] = key or X25519PrivateKey.generate()
        return EncryptionKeyring(new)

    def private_key(self, version: int) -> X25519PrivateKey:
        """The private key of ``version`` (for the keystore that persists it)."""
        v = _check_version(version)
        if v not in self._keys:
            raise InvalidKey(f"no key version {v} in this keyring")
        return self._keys[v]
