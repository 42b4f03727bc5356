"""Grant delivery between hospital nodes (design decision 3), signed by the grantor.

The grantor POSTs ``{token, package_cid, issued_at, signature}`` to ``{grantee
endpoint}/deliveries``; ``signature`` is its hospital key's EIP-712 ``GrantDelivery``
(:mod:`keys.delivery`) over grant id, package CID, the token's hash and ``issued_at``. The
token alone authenticates *what* is granted but not *which package*, so the grantee checks,
in this order: the token (offline: this chain, this Grants contract, this hospital), the
grant on chain (same grantor, grantee, case, scope, expiry), the delivery's signer (the on-chain
grantor), and that ``issued_at`` is newer than the delivery it already accepted. The same
delivery twice is a no-op; an older or equal one with other content is refused (409) and
changes nothing, so a replayed token or an old signed delivery cannot swap a live grant's
package.

A break-glass grant (:mod:`node.cases.breakglass`) has no token: the grantor never issued
one. Its delivery is ``{break_glass_grant, package_cid, issued_at, signature}`` and the
signed ``GrantDelivery`` carries the grant id with a zero token hash; the grantee checks,
instead of a token, that the grant on chain is a break-glass grant, to itself, not revoked
nor expired, and that the signer is its on-chain grantor. Freshness works as above.
"""

from __future__ import annotations

import httpx

from contracts.views import GrantView
from keys.delivery import GrantDelivery
from keys.exceptions import BadSignature, KeysError
from keys.tokens import parse_token
from node.blobstore.cid import normalize
from node.cases.ids import grant_id_bytes32, grant_id_from_bytes32
from node.cases.service import CaseServices
from node.exceptions import (
    BlobStoreError,
    CaseError,
    DeliveryError,
    DeliverySignatureInvalid,
    PeerUnavailable,
    StaleDelivery,
    UnsignedDelivery,
)  # fmt: skip

#: How far ahead of our clock a grantor's ``issued_at`` may be (clock skew between nodes).
#: Without a bound, one delivery stamped near 2**64 would make every later re-key stale.
MAX_CLOCK_SKEW_S = 300
#: The referral id of a break-glass grant (``Grants`` numbers referrals from 1).
NO_REFERRAL = 0
#: The token hash a break-glass ``GrantDelivery`` signs: there is no token.
NO_TOKEN_HASH = bytes(32)


def is_break_glass(row: dict[str, object]) -> bool:
    """Whether a local ``grants`` row is a break-glass grant (no referral, no token)."""
    return int(str(row["referral_id"])) == NO_REFERRAL and row.get("token") is None


def _delivery_of(grant_id: int, token: str | None, cid: str, issued_at: int) -> GrantDelivery:
    if token is None:
        return GrantDelivery(grant_id_bytes32(grant_id), cid, NO_TOKEN_HASH, issued_at)
    return GrantDelivery.of(token=token, package_cid=cid, issued_at=issued_at)


def _signed_body(
    services: CaseServices, grant_id: int, row: dict[str, object]
) -> dict[str, object]:
    """The delivery to send: the stored one, else a fresh one (newer than any before)."""
    if services.issuer is None:
        raise CaseError("this node has no signing key; it cannot deliver grants")
    token = None if is_break_glass(row) else str(row["token"])
    cid = str(row["package_cid"])
    issued_at, signature = row.get("issued_at"), row.get("delivery_signature")
    if signature is None or issued_at is None:
        previous = int(str(issued_at)) if issued_at is not None else 0
        issued_at = max(int(services.clock()), previous + 1)
        signature = services.issuer.sign_delivery(_delivery_of(grant_id, token, cid, issued_at))
        with services.store.transaction() as db:  # re-sent as is until the package changes
            db.execute(
                "UPDATE grants SET issued_at = ?, delivery_signature = ? WHERE grant_id = ?",
                (issued_at, signature, grant_id),
            )
    assert isinstance(signature, bytes)
    body: dict[str, object] = {"package_cid": cid, "issued_at": int(str(issued_at)),
                               "signature": "0x" + signature.hex()}  # fmt: skip
    if token is None:
        body["break_glass_grant"] = grant_id
    else:
        body["token"] = token
    return body


def deliver(*, services: CaseServices, grant_id: int) -> None:
    """Send one issued grant's token and package CID, signed, to the grantee's node."""
    row = services.store.grant_row(grant_id)
    if (
        row is None
        or row["direction"] != "issued"
        or row["package_cid"] is None
        or (row["token"] is None and not is_break_glass(row))
    ):
        raise CaseError(f"grant {grant_id} was not issued by this node")
    endpoint = services.chain.member(row["grantee"]).endpoint
    if not endpoint:
        raise PeerUnavailable("the grantee has no endpoint in the consortium")
    body = _signed_body(services, grant_id, row)
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


def _signature(text: str | None) -> bytes:
    if text is None:
        raise UnsignedDelivery("the delivery is not signed by the grantor (GrantDelivery)")
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if len(body) != 130:
        raise DeliverySignatureInvalid("the delivery signature is not 65 bytes of hex")
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise DeliverySignatureInvalid("the delivery signature is not hex") from None


def receive(
    *,
    services: CaseServices,
    token: str | None,
    package_cid: str,
    issued_at: int | None = None,
    signature: str | None = None,
    break_glass_grant: int | None = None,
) -> dict[str, object]:
    """Accept a signed delivery after checking token, chain, signer and freshness.

    A newer delivery for the same grant with another package CID (the grantor re-keyed)
    replaces the package and makes the follower replicate again; the same one is a no-op.
    """
    if issued_at is None or signature is None:
        raise UnsignedDelivery("the delivery is not signed by the grantor (GrantDelivery)")
    sig = _signature(signature)
    if token is None or break_glass_grant is not None:
        if token is not None or break_glass_grant is None:
            raise DeliveryError("a delivery carries either a token or a break-glass grant id")
        return _receive_break_glass(
            services, grant_id=break_glass_grant, package_cid=package_cid,
            issued_at=issued_at, sig=sig,
        )  # fmt: skip
    try:
        claimed = parse_token(token)
        claims = services.verifier.verify(token, issuer=claimed.issuer)
        cid = normalize(package_cid)
        delivery = GrantDelivery.of(token=token, package_cid=package_cid, issued_at=issued_at)
    except (KeysError, BlobStoreError, ValueError) as exc:
        raise DeliveryError(f"invalid delivery: {exc}") from None
    grant_id = grant_id_from_bytes32(claims.grant_id)
    view = services.chain.grant(grant_id)
    if (view.grantor != claims.issuer or view.grantee != claims.grantee
            or view.case_id != claims.case_id or view.scope_root != claims.scope_root
            or view.expires_at != claims.expiry):  # fmt: skip
        raise DeliveryError("the token does not match the grant on chain")
    now = _signed_by_grantor(services, delivery, sig, view=view, issued_at=issued_at)
    return _store(services, grant_id=grant_id, view=view, cid=cid, token=token,
                  issued_at=issued_at, sig=sig, now=now)  # fmt: skip


def _signed_by_grantor(services: CaseServices, delivery: GrantDelivery, sig: bytes, *,
                       view: GrantView, issued_at: int) -> float:  # fmt: skip
    """Refuse a delivery not signed by the on-chain grantor or dated ahead; the time now."""
    try:
        signer = services.verifier.delivery_signer(delivery, sig)
    except BadSignature as exc:
        raise DeliverySignatureInvalid(f"the delivery signature is invalid: {exc}") from None
    if signer != view.grantor:
        raise DeliverySignatureInvalid("the delivery is not signed by the grant's grantor")
    now = services.clock()
    if issued_at > now + MAX_CLOCK_SKEW_S:
        raise DeliverySignatureInvalid("the delivery is dated in the future")
    return now


def _receive_break_glass(services: CaseServices, *, grant_id: int, package_cid: str,
                         issued_at: int, sig: bytes) -> dict[str, object]:  # fmt: skip
    """The break-glass branch: the grant on chain stands in for the token."""
    try:
        cid = normalize(package_cid)
        delivery = _delivery_of(grant_id, None, package_cid, issued_at)
    except (BlobStoreError, ValueError, CaseError) as exc:
        raise DeliveryError(f"invalid delivery: {exc}") from None
    view = services.chain.grant(grant_id)
    if not view.issued or not view.break_glass:
        raise DeliveryError(f"grant {grant_id} is not a break-glass grant on chain")
    if view.grantee != services.chain.address:
        raise DeliveryError(f"break-glass grant {grant_id} was opened by another hospital")
    if view.revoked or services.clock() >= view.expires_at:
        raise DeliveryError(f"break-glass grant {grant_id} is revoked or expired")
    now = _signed_by_grantor(services, delivery, sig, view=view, issued_at=issued_at)
    return _store(services, grant_id=grant_id, view=view, cid=cid, token=None,
                  issued_at=issued_at, sig=sig, now=now)  # fmt: skip


def _store(services: CaseServices, *, grant_id: int, view: GrantView, cid: str,
           token: str | None,
           issued_at: int, sig: bytes, now: float) -> dict[str, object]:  # fmt: skip
    with services.store.transaction() as db:
        old = db.execute(
            "SELECT issued_at, package_cid, token FROM grants WHERE grant_id = ?", (grant_id,)
        ).fetchone()
        if old is not None and old[0] is not None:
            if (old[0], old[1], old[2]) == (issued_at, cid, token):
                return {"grant_id": grant_id, "accepted": True, "new": False}
            if issued_at <= int(old[0]):
                raise StaleDelivery(
                    f"grant {grant_id} already has a delivery issued at {old[0]}; "
                    f"this one ({issued_at}) is not newer"
                )
        new = old is None or old[1] != cid
        db.execute(
            "INSERT INTO grants (grant_id, direction, referral_id, case_id, grantor, grantee, "
            "scope_root, expires_at, package_cid, token, state, issued_at, delivery_signature, "
            "delivered_at) VALUES (?, 'received', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (grant_id) DO UPDATE SET package_cid = excluded.package_cid, "
            "token = excluded.token, issued_at = excluded.issued_at, "
            "delivery_signature = excluded.delivery_signature, "
            "delivered_at = excluded.delivered_at, "
            "state = CASE WHEN grants.state = 'revoked' THEN 'revoked' "
            "WHEN grants.package_cid IS excluded.package_cid THEN grants.state "
            "ELSE 'announced' END",
            (grant_id, view.referral_id, view.case_id, view.grantor, view.grantee,
             view.scope_root, view.expires_at, cid, token,
             "revoked" if view.revoked else "announced", issued_at, sig, now),
        )  # fmt: skip
    return {"grant_id": grant_id, "accepted": True, "new": new}
