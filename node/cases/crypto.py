"""Re-wrap our data keys for a grantee (reading granted records back: :mod:`node.cases.read`).

The DEK of a record is wrapped with the associated data ``DEK_AD + record_id`` (ingest's
convention, passed to :mod:`keys.envelope` as its ``record_id`` binding), so a key wrapped
for one record never unwraps for another, for us or for a grantee.
"""

from __future__ import annotations

from keys.datakey import DataKey
from keys.envelope import EncryptionKeyring, EncryptionPublicKey
from keys.exceptions import UnwrapError
from node.exceptions import RecordKeyUnavailable
from node.ingest.core import DEK_AD


def own_data_key(keyring: EncryptionKeyring, wrapped: bytes, *, record_id: bytes) -> DataKey:
    """Unwrap one of our own records' DEKs; a shredded record is a clear error."""
    try:
        return keyring.unwrap(wrapped, record_id=dek_binding(record_id))
    except UnwrapError:
        raise RecordKeyUnavailable(
            f"record {record_id.hex()} has no usable data key here (shredded or retired key)"
        ) from None


def dek_binding(record_id: bytes) -> bytes:
    """What a record's wrapped DEK is bound to (ingest's ``DEK_AD + record_id``)."""
    return DEK_AD + record_id


def rewrap_for(keyring: EncryptionKeyring, wrapped: bytes, *, record_id: bytes,
               recipient: EncryptionPublicKey) -> bytes:  # fmt: skip
    """Unwrap one of our DEKs and seal it to another hospital's key, same record binding."""
    dek = own_data_key(keyring, wrapped, record_id=record_id)
    return recipient.wrap(dek, record_id=dek_binding(record_id)).to_bytes()
