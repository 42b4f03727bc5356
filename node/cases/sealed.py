"""Seal a grant package to the grantee: a fresh key wrapped with HPKE + the keys stream AEAD.

Blob layout: ``wrapped package key (85 bytes, keys.envelope wire form) || encrypted stream``.
Both the wrap and the stream are bound to the grant id, so a package cannot be passed off
as another grant's.
"""

from __future__ import annotations

from keys.datakey import DataKey
from keys.envelope import WRAPPED_SIZE, EncryptionKeyring, EncryptionPublicKey
from keys.exceptions import KeysError
from keys.stream import decrypt_stream, encrypt_stream
from node.cases.ids import grant_id_bytes32
from node.cases.package import GrantPackage
from node.exceptions import GrantPackageError

_BINDING = b"medledger:grant-package:v1\x00"


def seal_package(package: GrantPackage, recipient: EncryptionPublicKey) -> bytes:
    binding = _BINDING + grant_id_bytes32(package.grant_id)
    key = DataKey.generate()
    wrapped = recipient.wrap(key, record_id=binding).to_bytes()
    return wrapped + b"".join(encrypt_stream(key, [package.to_bytes()], aad=binding))


def open_package(blob: bytes, keyring: EncryptionKeyring, *, grant_id: int) -> GrantPackage:
    """Unseal and parse; any failure (not ours, tampered, other grant) is one error."""
    binding = _BINDING + grant_id_bytes32(grant_id)
    try:
        key = keyring.unwrap(blob[:WRAPPED_SIZE], record_id=binding)
        plain = b"".join(decrypt_stream(key, [blob[WRAPPED_SIZE:]], aad=binding))
    except KeysError:
        raise GrantPackageError("the grant package does not open with our keys") from None
    package = GrantPackage.from_bytes(plain)
    if package.grant_id != grant_id:
        raise GrantPackageError("the grant package names another grant")
    return package
