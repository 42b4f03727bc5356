"""Re-key and crypto-shred our records (design flow 7).

- **Re-key**: new DEK, re-encrypt, the record points at the new ciphertext, the old one is
  unpinned, and every live grant of ours that covers the record gets a new package (same
  grant id and scope) wrapped to its grantee, except the grantees being dropped. Old wrapped
  keys then open only the old ciphertext, which we no longer serve; copies a grantee already
  pinned or decrypted cannot be recalled (that is what revocation and re-keying cannot do).
- **Crypto-shred**: every wrapped DEK we hold for the record is destroyed (the outbox's is
  overwritten, our packages that carry it are unpinned) and the ciphertext is unpinned and
  collected. The anchor stays on chain as evidence that the record existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from keys.datakey import DataKey
from keys.stream import decrypt_stream, encrypt_stream
from keys.typing import RecordId
from node.cases.crypto import dek_binding, own_data_key
from node.cases.grants import regrant
from node.cases.service import CaseServices
from node.exceptions import BlobNotFound, CaseError
from node.ingest.core import PAYLOAD_AD
from node.typing import CID


@dataclass(frozen=True, slots=True)
class RekeyResult:
    record_id: str
    old_cid: str
    new_cid: str
    regranted: list[int]

    def as_dict(self) -> dict[str, object]:
        return {"record_id": self.record_id, "old_cid": self.old_cid, "new_cid": self.new_cid,
                "regranted": self.regranted}  # fmt: skip


def _grants_covering(services: CaseServices, record_id: bytes) -> list[int]:
    rows = services.store.query(
        "SELECT g.grant_id FROM grants g JOIN case_records c ON c.case_id = g.case_id "
        "WHERE g.direction = 'issued' AND g.state != 'revoked' AND c.record_id = ? "
        "ORDER BY g.grant_id",
        (record_id,),
    )
    return [int(r[0]) for r in rows]


def rekey_record(*, services: CaseServices, record_id: RecordId,
                 drop_grantees: Iterable[str] = ()) -> RekeyResult:  # fmt: skip
    """Re-encrypt one FHIR-kind record under a new DEK and re-grant it to who keeps access."""
    own = services.records.record(record_id)
    old = own_data_key(services.keyring, own.wrapped_key, record_id=record_id)
    aad = PAYLOAD_AD + record_id + own.content_hash
    plain = b"".join(decrypt_stream(old, services.blobs.get(CID(own.cid)), aad=aad))
    new = DataKey.generate()
    new_cid = services.blobs.put([b"".join(encrypt_stream(new, [plain], aad=aad))])
    wrapped = services.keyring.wrap(new, record_id=dek_binding(record_id)).to_bytes()
    services.records.replace_key(record_id, cid=new_cid, wrapped_key=wrapped)
    _unpin(services, CID(own.cid))
    dropped = set(drop_grantees)
    regranted = []
    for grant_id in _grants_covering(services, record_id):
        row = services.store.grant_row(grant_id)
        assert row is not None
        if row["grantee"] in dropped:
            continue
        regrant(services=services, grant_id=grant_id)
        regranted.append(grant_id)
    return RekeyResult(record_id.hex(), own.cid, new_cid, regranted)


def shred_record(*, services: CaseServices, record_id: RecordId) -> dict[str, object]:
    """Destroy every wrapped DEK of the record we hold and drop its ciphertext.

    A package is one sealed blob per grant, bound to the grant's scope, so the packages of
    our grants covering the record are dropped whole: revoke those grants and grant the
    case's remaining records again.
    """
    own = services.records.record(record_id)
    services.records.shred_key(record_id)
    packages = 0
    for grant_id in _grants_covering(services, record_id):
        row = services.store.grant_row(grant_id)
        if row is not None and row["package_cid"]:
            packages += _unpin(services, CID(row["package_cid"]))
    _unpin(services, CID(own.cid))
    collected = services.blobs.gc()
    if services.blobs.has(CID(own.cid)):
        raise CaseError("the ciphertext is still pinned by something else")
    return {"record_id": record_id.hex(), "packages_dropped": packages, "blocks_deleted": collected}


def _unpin(services: CaseServices, cid: CID) -> int:
    try:
        services.blobs.unpin(cid)
        return 1
    except BlobNotFound:
        return 0
