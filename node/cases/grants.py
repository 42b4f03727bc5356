"""Grant and revoke (lower tier): wrap keys to the grantee, issue on chain, mint, deliver.

Order, and why: every DEK is re-wrapped first (a record we cannot unwrap fails the grant
before anything is public); then ``Grants.issue`` (the contract refuses a grantee without
an active referral from us); then the package (it names the grant id) goes into our blob
store, the token is minted and both are delivered. A delivery that fails leaves the grant
``issued``; :func:`deliver_pending` retries it.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.cases.delivery import deliver
from node.cases.ids import grant_id_bytes32, parse_address
from node.cases.package import scope_root
from node.cases.packaging import publish_package, recipient_of, wrap_records
from node.cases.service import CaseServices
from node.exceptions import CaseError, InvalidCaseInput, PeerUnavailable, UnknownCase

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
    recipient = recipient_of(services, grantee)
    records = wrap_records(services, record_ids, recipient)
    scope = scope_root(record_ids)
    grant_id = services.chain.issue_grant(
        referral_id=referral_id, grantee=grantee, physician=physician, scope_root=scope,
        expires_at=expires_at, max_uses=max_uses,
    )  # fmt: skip
    package_cid = publish_package(
        services, grant_id=grant_id, referral_id=referral_id, case_id=case_id,
        grantee=grantee, recipient=recipient, records=records,
    )  # fmt: skip
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
            "token = excluded.token, delivery_signature = NULL",
            (grant_id, referral_id, case_id, services.chain.address, grantee, scope,
             expires_at, package_cid, token),
        )  # fmt: skip
    delivered = _try_deliver(services, grant_id)
    return GrantResult(grant_id, referral_id, package_cid, token, delivered, len(records))


def regrant(*, services: CaseServices, grant_id: int) -> str:
    """Publish and deliver a fresh package for one of our live grants (after a re-key).

    Same grant, same record ids (so the same scope root and token); new wrapped keys, to
    the grantee's current encryption key. Returns the new package CID.
    """
    row = services.store.grant_row(grant_id)
    if row is None or row["direction"] != "issued":
        raise CaseError(f"grant {grant_id} was not issued by this node")
    record_ids = services.store.case_records(row["case_id"])
    if scope_root(record_ids) != row["scope_root"]:
        raise CaseError(f"the case's records changed since grant {grant_id}; grant again")
    recipient = recipient_of(services, row["grantee"])
    package_cid = publish_package(
        services, grant_id=grant_id, referral_id=row["referral_id"], case_id=row["case_id"],
        grantee=row["grantee"], recipient=recipient,
        records=wrap_records(services, record_ids, recipient),
    )  # fmt: skip
    with services.store.transaction() as db:
        db.execute(
            # a new package needs a new signed delivery, newer than the last (issued_at kept)
            "UPDATE grants SET package_cid = ?, state = 'issued', delivery_signature = NULL "
            "WHERE grant_id = ?",
            (package_cid, grant_id),
        )
    _try_deliver(services, grant_id)
    return package_cid


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
