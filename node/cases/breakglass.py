"""Break-glass at the owner: the policy decision, the automatic key release, the review.

A physician of an upper-tier hospital calls ``Grants.breakGlass`` for one of our cases;
nobody at our hospital has to act. When the follower applies the ``BreakGlassAccess``
event it records, in the same transaction as its cursor, what our policy decides
(:func:`decide`): ``deny`` releases nothing and the refusal stays visible (log line without
PHI, ``GET /break-glass``, and on chain: the node revokes the grant, so the opener's gateway
answers at once); ``allow`` and ``allow-and-notify`` mark it ``pending``.
After the commit :func:`release_pending` wraps each record's data key to the opening
hospital's *current* encryption key, publishes a grant package and delivers it exactly as
a grant delivery, signed ``GrantDelivery`` (:func:`node.cases.delivery.deliver`), with no
token: the grantor never issued one. The grantee checks that the grant on chain is a
break-glass grant, granted by the signer, to itself (see ``delivery.receive``).

The scope a physician names on chain cannot be the case's Merkle root (they do not know
the case's record ids), so :data:`WHOLE_CASE` asks for every record we hold of the case;
an exact scope root is honoured too. The window is the grant's expiry on chain: nothing is
released for an opening already expired, revoked or reviewed as unjustified.

Crash safety: the package and the ``grants`` row are written in one transaction, the
delivery's signature before the first send, so a restart re-sends the same signed delivery
(a no-op at the receiver) and never a second package.
"""

from __future__ import annotations

import logging
import sqlite3

from eth_utils.crypto import keccak

from contracts.events import LogEvent
from node.cases.delivery import NO_REFERRAL, deliver
from node.cases.package import scope_root
from node.cases.packaging import publish_package, recipient_of, wrap_records
from node.cases.service import CaseServices
from node.exceptions import (
    ChainRefused,
    InvalidCaseInput,
    NodeError,
    PeerUnavailable,
    UnknownCase,
)

log = logging.getLogger(__name__)

#: The scope root that asks for the whole case as its owner holds it.
WHOLE_CASE = keccak(b"medledger/break-glass/whole-case/v1")
POLICIES = ("allow", "deny", "allow-and-notify")


def decide(policy: str, *, case_records: list[bytes], scope: bytes) -> tuple[str, str | None]:
    """``(decision, refusal)`` for one opening: ``pending`` (to release) or a refusal."""
    if policy not in POLICIES:
        raise InvalidCaseInput(f"break-glass policy must be one of {', '.join(POLICIES)}")
    if policy == "deny":
        return "denied", "the hospital's break-glass policy is deny"
    if not case_records:
        return "refused", "no records of this case on this node"
    if scope not in (WHOLE_CASE, scope_root(case_records)):
        return "refused", "the scope is neither the whole case nor its exact scope root"
    return "pending", None


def apply_opening(db: sqlite3.Connection, services: CaseServices, event: LogEvent) -> bool:
    """Note a ``BreakGlassAccess`` on one of our cases and the policy's decision (in the tx)."""
    a = event.args
    if a["grantor"] != services.chain.address:
        return False
    rows = db.execute(
        "SELECT record_id FROM case_records WHERE case_id = ? ORDER BY record_id", (a["caseId"],)
    ).fetchall()
    policy = services.break_glass_policy
    decision, refusal = decide(policy, case_records=[bytes(r[0]) for r in rows],
                               scope=bytes(a["scopeRoot"]))  # fmt: skip
    db.execute(
        "INSERT INTO break_glass (grant_id, case_id, physician, hospital, reason_code, "
        "expires_at, block, policy, decision, refusal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (grant_id) DO NOTHING",
        (a["grantId"], a["caseId"], a["physician"], a["hospital"], a["reasonCode"],
         a["expiresAt"], event.block_number, policy, decision, refusal),
    )  # fmt: skip
    # Addresses, ids and the reason code only: the case id is a random handle, no PHI.
    if decision == "pending" and policy == "allow-and-notify":
        log.warning("break-glass grant %d: physician %s of %s opened a case (reason %d); "
                    "keys released automatically, review pending", a["grantId"],
                    a["physician"], a["hospital"], a["reasonCode"])  # fmt: skip
    elif decision != "pending":
        log.warning("break-glass grant %d by physician %s of %s: nothing released (%s)",
                    a["grantId"], a["physician"], a["hospital"], refusal)  # fmt: skip
    return True


def apply_review(db: sqlite3.Connection, services: CaseServices, event: LogEvent) -> bool:
    """Note a ``BreakGlassReviewed`` of one of our openings (whoever reviewed it)."""
    a = event.args
    if a["grantor"] != services.chain.address:
        return False
    db.execute(
        "UPDATE break_glass SET reviewed = 1, justified = ?, reviewer = ?, review_block = ? "
        "WHERE grant_id = ?",
        (int(bool(a["justified"])), a["reviewer"], event.block_number, a["grantId"]),
    )
    return True


def revoke_refused(services: CaseServices) -> list[int]:
    """Revoke on chain each opening we denied or refused, so it fails at once everywhere.

    The opener's gateway sees the revocation instead of waiting in vain, an auditor sees
    the refusal on chain, and the grant cannot be redeemed for nothing.
    """
    done = []
    rows = services.store.query(
        "SELECT grant_id FROM break_glass WHERE decision IN ('denied', 'refused') "
        "AND revoked = 0 ORDER BY grant_id"
    )
    for (grant_id,) in rows:
        try:
            if not services.chain.grant(int(grant_id)).revoked:
                services.chain.revoke_grant(int(grant_id))
        except ChainRefused as exc:
            if exc.error != "GrantIsRevoked":
                log.warning("break-glass grant %s not revoked yet: %s", grant_id, exc)
                continue
        except NodeError as exc:
            log.warning("break-glass grant %s not revoked yet: %s", grant_id, exc)
            continue
        with services.store.transaction() as db:
            db.execute("UPDATE break_glass SET revoked = 1 WHERE grant_id = ?", (grant_id,))
        done.append(int(grant_id))
    return done


def release_pending(services: CaseServices) -> list[int]:
    """Release (or re-deliver) every pending opening still live on chain; return those sent."""
    revoke_refused(services)
    sent = []
    rows = services.store.query(
        "SELECT grant_id FROM break_glass WHERE decision = 'pending' ORDER BY grant_id"
    )
    for (grant_id,) in rows:
        try:
            if _release(services, int(grant_id)):
                sent.append(int(grant_id))
        except (NodeError, OSError) as exc:
            log.warning("break-glass grant %s not released yet: %s", grant_id, exc)
    delivered = services.store.query(  # released but the grantee was unreachable
        "SELECT g.grant_id FROM grants g JOIN break_glass b USING (grant_id) "
        "WHERE g.direction = 'issued' AND g.state = 'issued' AND b.decision = 'released'"
    )
    for (grant_id,) in delivered:
        try:
            deliver(services=services, grant_id=int(grant_id))
            sent.append(int(grant_id))
        except PeerUnavailable as exc:
            log.warning("break-glass grant %s not delivered yet: %s", grant_id, exc)
    return sent


def _refuse(services: CaseServices, grant_id: int, reason: str) -> bool:
    with services.store.transaction() as db:
        db.execute(
            "UPDATE break_glass SET decision = 'refused', refusal = ? WHERE grant_id = ?",
            (reason, grant_id),
        )
    log.warning("break-glass grant %d: nothing released (%s)", grant_id, reason)
    return False


def _release(services: CaseServices, grant_id: int) -> bool:
    view = services.chain.grant(grant_id)
    if not view.break_glass or view.grantor != services.chain.address:
        return _refuse(services, grant_id, "not a break-glass grant on one of our cases")
    if view.revoked:
        return _refuse(services, grant_id, "revoked before release")
    if services.clock() >= view.expires_at:
        return _refuse(services, grant_id, "expired before release")
    record_ids = services.store.case_records(view.case_id)
    recipient = recipient_of(services, view.grantee)
    records = wrap_records(services, record_ids, recipient)
    package_cid = publish_package(
        services, grant_id=grant_id, referral_id=NO_REFERRAL, case_id=view.case_id,
        grantee=view.grantee, recipient=recipient, records=records,
    )  # fmt: skip
    with services.store.transaction() as db:
        db.execute(
            "INSERT INTO grants (grant_id, direction, referral_id, case_id, grantor, grantee, "
            "scope_root, expires_at, package_cid, token, state) "
            "VALUES (?, 'issued', ?, ?, ?, ?, ?, ?, ?, NULL, 'issued')",
            (grant_id, NO_REFERRAL, view.case_id, view.grantor, view.grantee, view.scope_root,
             view.expires_at, package_cid),
        )  # fmt: skip
        db.execute(
            "UPDATE break_glass SET decision = 'released', released_at = ? WHERE grant_id = ?",
            (services.clock(), grant_id),
        )
    log.info("break-glass grant %d: %d record keys released to %s", grant_id, len(records),
             view.grantee)  # fmt: skip
    try:
        deliver(services=services, grant_id=grant_id)
    except PeerUnavailable as exc:
        log.warning("break-glass grant %d not delivered yet: %s", grant_id, exc)
        return False
    return True


def openings(*, services: CaseServices, pending_review: bool = False) -> list[dict[str, object]]:
    """Our cases' break-glass openings (newest first), optionally only those not reviewed."""
    cols = ("grant_id", "case_id", "physician", "hospital", "reason_code", "expires_at",
            "block", "policy", "decision", "refusal", "released_at", "revoked", "reviewed",
            "justified", "reviewer", "review_block")  # fmt: skip
    sql = f"SELECT {', '.join(cols)} FROM break_glass"
    if pending_review:
        sql += " WHERE reviewed = 0"
    rows = services.store.query(sql + " ORDER BY grant_id DESC")
    out = []
    for row in rows:
        item = dict(zip(cols, row, strict=True))
        item["case_id"] = "0x" + bytes(item["case_id"]).hex()
        item["reviewed"] = bool(item["reviewed"])
        item["revoked"] = bool(item["revoked"])
        item["justified"] = None if item["justified"] is None else bool(item["justified"])
        out.append(item)
    return out


def review(*, services: CaseServices, grant_id: int, justified: bool,
           note: str = "") -> dict[str, object]:  # fmt: skip
    """``Grants.reviewBreakGlass`` by this hospital: only the note's hash goes on chain."""
    # SQLite integers are signed 64-bit: a larger id cannot be one of our rows
    rows = grant_id < 2**63 and services.store.query(
        "SELECT 1 FROM break_glass WHERE grant_id = ?", (grant_id,)
    )
    if not rows:
        raise UnknownCase(f"grant {grant_id} is not a break-glass opening of one of our cases")
    note_hash = keccak(text=note) if note else bytes(32)
    services.chain.review_break_glass(grant_id, justified=justified, note_hash=note_hash)
    with services.store.transaction() as db:
        db.execute(
            "UPDATE break_glass SET reviewed = 1, justified = ?, reviewer = ? WHERE grant_id = ?",
            (int(justified), services.chain.address, grant_id),
        )
    return {"grant_id": grant_id, "justified": justified, "note_hash": "0x" + note_hash.hex()}
