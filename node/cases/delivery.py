"""Token delivery between hospital nodes (design decision 3).

The grantor POSTs ``{token, package_cid}`` to ``{grantee endpoint}/deliveries``. The
grantee authenticates the request by the token alone: its EIP-712 signature verifies
offline (:mod:`keys.tokens`) for this chain, this Grants contract and this hospital, and
the grant it names exists on chain with the same grantor, grantee, case and scope.
Delivering the same grant twice changes nothing.
"""

from __future__ import annotations

import httpx

from keys.exceptions import KeysError
from keys.tokens import parse_token
from node.blobstore.cid import normalize
from node.cases.ids import grant_id_from_bytes32
from node.cases.service import CaseServices
from node.exceptions import BlobStoreError, CaseError, DeliveryError, PeerUnavailable


def deliver(*, services: CaseServices, grant_id: int) -> None:
    """Send one issued grant's token and package CID to the grantee's node."""
    row = services.store.grant_row(grant_id)
    if row is None or row["direction"] != "issued" or row["token"] is None:
        raise CaseError(f"grant {grant_id} was not issued by this node")
    endpoint = services.chain.member(row["grantee"]).endpoint
    if not endpoint:
        raise PeerUnavailable("the grantee has no endpoint in the consortium")
    body = {"token": row["token"], "package_cid": row["package_cid"]}
    try:
        resp = services.http.post(endpoint.rstrip("/") + "/deliveries", json=body)
    except httpx.HTTPError as exc:
        raise PeerUnavailable(f"grantee node unreachable: {exc}") from exc
    if resp.status_code >= 500:
        raise PeerUnavailable(f"grantee node failed ({resp.status_code})")
    if resp.status_code != 200:
        raise DeliveryError(f"grantee refused the delivery ({resp.status_code}): {resp.text}")
    with services.store.transaction() as db:
        db.execute(
            "UPDATE grants SET state = 'delivered' WHERE grant_id = ? AND state = 'issued'",
            (grant_id,),
        )


def receive(*, services: CaseServices, token: str, package_cid: str) -> dict[str, object]:
    """Accept a delivered token after checking it offline and against the chain.

    A later delivery for the same grant with another package CID (the grantor re-keyed)
    replaces the package and makes the follower replicate again; the same one is a no-op.
    """
    try:
        claimed = parse_token(token)
        claims = services.verifier.verify(token, issuer=claimed.issuer)
        cid = normalize(package_cid)
    except (KeysError, BlobStoreError, ValueError) as exc:
        raise DeliveryError(f"invalid delivery: {exc}") from None
    grant_id = grant_id_from_bytes32(claims.grant_id)
    view = services.chain.grant(grant_id)
    if (view.grantor != claims.issuer or view.grantee != claims.grantee
            or view.case_id != claims.case_id or view.scope_root != claims.scope_root):  # fmt: skip
        raise DeliveryError("the token does not match the grant on chain")
    with services.store.transaction() as db:
        before = db.total_changes
        db.execute(
            "INSERT INTO grants (grant_id, direction, referral_id, case_id, grantor, grantee, "
            "scope_root, expires_at, package_cid, token, state) "
            "VALUES (?, 'received', ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (grant_id) DO UPDATE SET package_cid = excluded.package_cid, "
            "token = excluded.token, state = CASE grants.state WHEN 'revoked' THEN 'revoked' "
            "ELSE 'announced' END WHERE grants.package_cid IS NOT excluded.package_cid",
            (grant_id, view.referral_id, view.case_id, view.grantor, view.grantee,
             view.scope_root, view.expires_at, cid, token,
             "revoked" if view.revoked else "announced"),
        )  # fmt: skip
        new = db.total_changes > before
    return {"grant_id": grant_id, "accepted": True, "new": new}
