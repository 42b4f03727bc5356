"""Group wrap (format 2): one HPKE seal per ingest group, one AES-256-GCM seal per record.

Why: a format-1 wrap (:mod:`keys.envelope`) costs one X25519 per record, which was the
largest single cost of sealing a small FHIR record in bulk ingest. This is the usual key
hierarchy of envelope encryption: a group draws a fresh key-encryption key (KEK), seals it
once to the hospital's current X25519 key with HPKE, and seals each record's data key under
the KEK with AES-256-GCM bound to the record id and the key version.

Every wrapped key carries the sealed KEK, so a record is unwrapped, re-wrapped for a
grantee, rotated or crypto-shredded alone, exactly like a format-1 one: a grantee only ever
receives a format-1 wrap of one DEK (``rewrap``/``wrap`` to its key), never a KEK, and
shredding a record's wrapped key destroys the only copy of its sealed DEK (the sealed KEK
other records hold does not open it). The KEK lives in memory for the group only.

Wire form of a wrapped key (format 2, 145 bytes)::

    format u8 = 2 | key_version u32 BE | enc (32) | HPKE(KEK) with tag (48)
                  | nonce (12) | AES-256-GCM(DEK) with tag (48)

    HPKE info = b"medledger/kek-wrap/v2" | key_version u32 BE
    DEK aad   = b"medledger/dek-under-kek/v2" | key_version u32 BE | len u8 | record_id

Nonces are random (96 bits) and a KEK seals at most :data:`MAX_WRAPS_PER_KEK` keys, far
below the birthday bound. Unwrap costs what format 1 costs: one X25519, plus one AES-GCM.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from keys._primitives import (
    AES_KEY_SIZE,
    HPKE_ENC_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    Aead,
    hpke_open,
    hpke_seal,
)
from keys.datakey import DATA_KEY_SIZE, DataKey
from keys.exceptions import InvalidKey, MalformedWrappedKey
from keys.typing import KeyVersion, RecordId

GROUP_WRAP_FORMAT = 2
_PREFIX = struct.Struct(">BI")
SEALED_KEK_SIZE = HPKE_ENC_SIZE + AES_KEY_SIZE + TAG_SIZE
SEALED_DEK_SIZE = NONCE_SIZE + DATA_KEY_SIZE + TAG_SIZE
GROUP_WRAPPED_SIZE = _PREFIX.size + SEALED_KEK_SIZE + SEALED_DEK_SIZE
MAX_RECORD_ID = 255
#: Most data keys one KEK seals (random nonces: far below the 2**32 bound of AES-GCM).
MAX_WRAPS_PER_KEK = 1 << 20
_KEK_INFO = b"medledger/kek-wrap/v2"
_DEK_AAD = b"medledger/dek-under-kek/v2"


def _kek_info(key_version: int) -> bytes:
    return _KEK_INFO + struct.pack(">I", key_version)


def _dek_aad(record_id: bytes, key_version: int) -> bytes:
    if not isinstance(record_id, bytes) or not 1 <= len(record_id) <= MAX_RECORD_ID:
        raise ValueError(f"record_id must be 1..{MAX_RECORD_ID} bytes")
    return _DEK_AAD + struct.pack(">IB", key_version, len(record_id)) + record_id


@dataclass(frozen=True, slots=True)
class GroupWrappedKey:
    """A DEK sealed under a group KEK, with the KEK sealed to one key version; publishable."""

    FORMAT: ClassVar[int] = GROUP_WRAP_FORMAT
    key_version: KeyVersion
    sealed_kek: bytes
    sealed_dek: bytes

    def __post_init__(self) -> None:
        if not 1 <= self.key_version < 2**32:
            raise MalformedWrappedKey("key versions are integers in [1, 2**32)")
        if len(self.sealed_kek) != SEALED_KEK_SIZE or len(self.sealed_dek) != SEALED_DEK_SIZE:
            raise MalformedWrappedKey(f"a group-wrapped key is {GROUP_WRAPPED_SIZE} bytes")

    def to_bytes(self) -> bytes:
        """The 145-byte wire form."""
        return _PREFIX.pack(GROUP_WRAP_FORMAT, self.key_version) + self.sealed_kek + self.sealed_dek

    @classmethod
    def from_bytes(cls, data: bytes) -> GroupWrappedKey:
        """Parse the wire form, rejecting other lengths and formats."""
        if not isinstance(data, bytes) or len(data) != GROUP_WRAPPED_SIZE:
            raise MalformedWrappedKey(f"a group-wrapped key is {GROUP_WRAPPED_SIZE} bytes")
        fmt, version = _PREFIX.unpack_from(data)
        if fmt != GROUP_WRAP_FORMAT or version == 0:
            raise MalformedWrappedKey("unknown wrapped-key format")
        kek_end = _PREFIX.size + SEALED_KEK_SIZE
        return cls(KeyVersion(version), data[_PREFIX.size : kek_end], data[kek_end:])


class GroupWrapper:
    """Wraps the data keys of one ingest group: a fresh KEK, sealed once to ``public_key``.

    Use one per group and drop it afterwards (the KEK is held in memory only while it
    lives). Not picklable, and its repr shows no key material.

    Parameters
    ----------
    key_version
        The version of the hospital key the KEK is sealed to.
    public_key
        That version's X25519 public key.
    """

    __slots__ = ("_aead", "_sealed_kek", "_used", "key_version")

    def __init__(self, key_version: KeyVersion, public_key: X25519PublicKey) -> None:
        kek = os.urandom(AES_KEY_SIZE)
        self.key_version = key_version
        self._sealed_kek = hpke_seal(public_key, kek, info=_kek_info(key_version))
        self._aead = Aead(kek)
        self._used = 0

    def __repr__(self) -> str:
        return f"GroupWrapper(key_version={self.key_version}, kek=<redacted>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a GroupWrapper holds a key; it is not picklable")

    def wrap(self, dek: DataKey, *, record_id: RecordId | bytes) -> GroupWrappedKey:
        """Seal ``dek`` under this group's KEK for ``record_id`` only."""
        if not isinstance(dek, DataKey):
            raise TypeError("wrap() takes a DataKey")
        if self._used >= MAX_WRAPS_PER_KEK:
            raise InvalidKey(f"a group KEK seals at most {MAX_WRAPS_PER_KEK} data keys")
        self._used += 1
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._aead.seal(nonce, bytes(dek), _dek_aad(record_id, self.key_version))
        return GroupWrappedKey(self.key_version, self._sealed_kek, nonce + sealed)


def open_group_wrapped(
    private_key: X25519PrivateKey, wrapped: GroupWrappedKey, *, record_id: bytes
) -> DataKey:
    """Open the KEK with HPKE, then the DEK; raises ``DecryptionError`` on any mismatch.

    Callers (:meth:`keys.envelope.EncryptionKeyring.unwrap`) turn every failure into the
    one opaque ``UnwrapError``.
    """
    kek = hpke_open(private_key, wrapped.sealed_kek, info=_kek_info(wrapped.key_version))
    nonce, sealed = wrapped.sealed_dek[:NONCE_SIZE], wrapped.sealed_dek[NONCE_SIZE:]
    material = Aead(kek).open(nonce, sealed, _dek_aad(record_id, wrapped.key_version))
    return DataKey(material)
