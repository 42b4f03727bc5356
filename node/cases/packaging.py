"""Build and publish a grant package: re-wrap each record's DEK to the grantee, seal, store."""

from __future__ import annotations

from keys.envelope import EncryptionPublicKey
from keys.typing import RecordId
from node.cases.crypto import rewrap_for
from node.cases.inclusion import BatchInclusion
from node.cases.package import GrantPackage, PackageRecord
from node.cases.sealed import seal_package
from node.cases.service import CaseServices
from node.exceptions import CaseError, RecordNotAnchored
from node.typing import CID, ContentHash, PatientPseudonym


def recipient_of(services: CaseServices, grantee: str) -> EncryptionPublicKey:
    """The grantee's current encryption key, as published in ``Consortium``."""
    member = services.chain.member(grantee)
    if not member.encryption_key:
        raise CaseError("the grantee has no encryption key on chain")
    return EncryptionPublicKey(member.encryption_key_version, member.encryption_key)


def wrap_records(services: CaseServices, record_ids: list[bytes],
                 recipient: EncryptionPublicKey) -> tuple[PackageRecord, ...]:  # fmt: skip
    """Each record's DEK unwrapped with our keyring and sealed to ``recipient``.

    Runs before anything is sent on chain, so a record we cannot unwrap fails the grant early,
    and so does a record with nothing on chain to check it against: one still pending in the
    outbox (not batched yet) and not anchored alone either. A batched record carries its
    inclusion proof (the batch's transaction may still be in flight: the grantee checks the
    root on chain when it reads).
    """
    records = []
    for rid in record_ids:
        own = services.records.record(RecordId(rid))
        if own.proof is None and services.chain.record_anchor(rid) is None:
            raise RecordNotAnchored(
                f"record {rid.hex()} is not anchored yet (pending in the outbox); "
                "grant again once its batch is formed"
            )
        sealed = rewrap_for(services.keyring, own.wrapped_key, record_id=rid, recipient=recipient)
        records.append(
            PackageRecord(
                record_id=RecordId(rid),
                cid=CID(own.cid),
                content_hash=ContentHash(own.content_hash),
                wrapped_key=sealed,
                salt=own.salt,
                pseudonym=PatientPseudonym(own.pseudonym),
                kind=own.kind,
                inclusion=None if own.proof is None else BatchInclusion.from_proof(own.proof),
            )
        )
    return tuple(records)


def publish_package(services: CaseServices, *, grant_id: int, referral_id: int, case_id: bytes,
                    grantee: str, recipient: EncryptionPublicKey,
                    records: tuple[PackageRecord, ...]) -> CID:  # fmt: skip
    """Seal the package to the grantee and pin it in our blob store; return its CID."""
    package = GrantPackage(
        chain_id=services.chain.chain_id, grants_contract=services.chain.grants_address,
        grant_id=grant_id, referral_id=referral_id, case_id=case_id,
        grantor=services.chain.address, grantee=grantee, key_version=recipient.version,
        records=records,
    )  # fmt: skip
    return services.blobs.put([seal_package(package, recipient)])
