"""The grantee's inbox: grants delivered to this hospital, with their live state on chain.

The local row says what was delivered and when; uses left, revocation and the referral's
reason are read on chain at each listing, because the grantor (revoke) and the grantee's
own gateway (redeem) change them without telling this node.
"""

from __future__ import annotations

from node.cases.service import CaseServices


def inbox(*, services: CaseServices) -> list[dict[str, object]]:
    """Every delivered grant addressed to us, newest delivery first."""
    rows = services.store.query(
        "SELECT grant_id, state, delivered_at, token FROM grants "
        "WHERE direction = 'received' AND delivered_at IS NOT NULL "
        "ORDER BY delivered_at DESC, grant_id DESC"
    )
    names: dict[str, str] = {}
    out: list[dict[str, object]] = []
    for grant_id, state, delivered_at, token in rows:
        view = services.chain.grant(int(grant_id))
        # a break-glass grant has no referral: its reason code is on the owner's side
        reason = 0 if view.break_glass else services.chain.referral(view.referral_id).reason_code
        if view.grantor not in names:
            names[view.grantor] = services.chain.member(view.grantor).name
        out.append({
            "grant_id": view.grant_id, "case_id": "0x" + view.case_id.hex(),
            "referral_id": view.referral_id, "grantor": view.grantor,
            "grantor_name": names[view.grantor], "reason_code": reason,
            "expires_at": view.expires_at, "max_uses": view.max_uses,
            "uses_left": max(view.max_uses - view.uses, 0), "physician": view.named_physician,
            "revoked": view.revoked, "state": str(state), "delivered_at": float(delivered_at),
            "token": token,
        })  # fmt: skip
    return out
