"""Grant and revoke (lower tier): wrap keys to the grantee, issue on chain, mint, deliver.

Order, and why: every DEK is re-wrapped first (a record we cannot unwrap fails the grant
before anything is public); then ``Grants.issue`` (the contract refuses a grantee without
an active referral from us); then the package (it names the grant id) goes into our blob
store, the token is minted and both are delivered. A delivery that fails leaves the grant
``issued``; :func:`deliver_pending` retries it.
"""

from __future__ import annotations

from dataclasses import dataclass

from keys.envelope import EncryptionPublicKey
from node.cases.crypto import rewrap_for
from node.cases.delivery import deliver
from node.cases.ids import grant_id_bytes32, parse_address
from node.cases.package import GrantPackage, PackageRecord, scope_root
from node.cases.sealed import seal_package
from node.cases.service import CaseServices
from node.exceptions import CaseError, InvalidCaseInput, PeerUnavailable, UnknownCase
from node.typing import CID, ContentHash, PatientPseudonym, RecordId

_U32 = 2**32


@dataclass(frozen=True, slots=True)
class GrantResult:
    grant_id: int
    referral_id: int
    package_cid: str
    token: str
    delivered: bool
    records: int

    def as_dict(self) -> dict[str, object]:
        return {"grant_id": self.grant_id, "referral_id": self.referral_id,
                "package_cid": self.package_cid, "token": self.token,
                "delivered": self.delivered, "records": self.records}  # fmt: skip


def _referral_for(services: CaseServices, case_id: bytes, grantee: str) -> int:
    """Our newest referral of this case to ``grantee``, else our newest one of the case.

    Falling back to a referral to another hospital lets the contract give the precise
    refusal (``GranteeNotReferralTarget``) instead of a local guess.
    """
    rows = services.store.query(
        "SELECT referral_id, target FROM referrals WHERE case_id = ? AND initiator = ? "
        "ORDER BY referral_id DESC",
        (case_id, services.chain.address),
    )
    for referral_id, target in rows:
        if target == grantee:
            return int(referral_id)
    if rows:
        return int(rows[0][0])
    raise CaseError("this hospital has not referred this case to anyone; refer it first")


def issue_grant(*, services: CaseServices, case_id: bytes, grantee: str, expires_at: int,
                max_uses: int, physician: str | None = None,
                referral_id: int | None = None) -> GrantResult:  # fmt: skip
    """Grant ``grantee`` access to every record of the case (design flow 4)."""
    if services.issuer is None:
        raise CaseError("this node has no token signing key; it cannot grant")
    grantee = parse_address(grantee, "grantee hospital")
    if physician is not None:
        physician = parse_address(physician, "physician")
    if not 0 < max_uses < _U32:
        raise InvalidCaseInput("max uses must be 1..4294967295")
    if not services.clock() < expires_at < 2**64:
        raise InvalidCaseInput("the expiry must be a future unix time")
    record_ids = services.store.case_records(case_id)
    if not record_ids:
        raise UnknownCase("no records are attached to this case on this node")
    if referral_id is None:
        referral_id = _referral_for(services, case_id, grantee)
    member = services.chain.member(grantee)
    if not member.encryption_key:
        raise CaseError("the grantee has no encryption key on chain")
    recipient = EncryptionPublicKey(member.encryption_key_version, member.encryption_key)
    records = []
    for rid in record_ids:
        own = services.records.record(RecordId(rid))
        sealed = rewrap_for(services.keyring, own.wrapped_key, record_id=rid, recipient=recipient)
        records.append(
            PackageRecord(
                record_id=RecordId(rid),
                cid=CID(own.cid),
                content_hash=ContentHash(own.content_hash),
                wrapped_key=sealed,
                salt=own.salt,
                pseudonym=PatientPseudonym(own.pseudonym),
            )
        )
    scope = scope_root(record_ids)
    grant_id = services.chain.issue_grant(
        referral_id=referral_id, grantee=grantee, physician=physician, scope_root=scope,
        expires_at=expires_at, max_uses=max_uses,
    )  # fmt: skip
    package = GrantPackage(
        chain_id=services.chain.chain_id, grants_contract=services.chain.grants_address,
        grant_id=grant_id, referral_id=referral_id, case_id=case_id,
        grantor=services.chain.address, grantee=grantee,
        key_version=member.encryption_key_version, records=tuple(records),
    )  # fmt: skip
    package_cid = services.blobs.put([seal_package(package, recipient)])
    token = services.issuer.issue(
        grant_id=grant_id_bytes32(grant_id), case_id=case_id, grantee=grantee,
        scope_root=scope, expiry=expires_at,
    )  # fmt: skip
    with services.store.transaction() as db:
        db.execute(
            "INSERT INTO grants (grant_id, direction, referral_id, case_id, grantor, grantee, "
            "scope_root, expires_at, package_cid, token, state) "
            "VALUES (?, 'issued', ?, ?, ?, ?, ?, ?, ?, ?, 'issued') "
            "ON CONFLICT (grant_id) DO UPDATE SET package_cid = excluded.package_cid, "
            "token = excluded.token",
            (grant_id, referral_id, case_id, services.chain.address, grantee, scope,
             expires_at, package_cid, token),
        )  # fmt: skip
    delivered = _try_deliver(services, grant_id)
    return GrantResult(grant_id, referral_id, package_cid, token, delivered, len(records))


def _try_deliver(services: CaseServices, grant_id: int) -> bool:
    try:
        deliver(services=services, grant_id=grant_id)
    except PeerUnavailable:
        return False
    return True


def deliver_pending(*, services: CaseServices) -> list[int]:
    """Retry every grant of ours whose token did not reach the grantee; return those sent."""
    rows = services.store.query(
        "SELECT grant_id FROM grants WHERE direction = 'issued' AND state = 'issued'"
    )
    return [int(r[0]) for r in rows if _try_deliver(services, int(r[0]))]


def revoke_grant(*, services: CaseServices, grant_id: int) -> dict[str, object]:
    """``Grants.revoke``: no redemption succeeds from the next block on (design flow 7)."""
    services.chain.revoke_grant(grant_id)
    with services.store.transaction() as db:
        db.execute("UPDATE grants SET state = 'revoked' WHERE grant_id = ?", (grant_id,))
    view = services.chain.grant(grant_id)
    return {"grant_id": grant_id, "revoked": view.revoked, "uses": view.uses}
