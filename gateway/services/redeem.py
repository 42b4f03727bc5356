"""Redeeming an access token: verify offline, check on chain, record on chain, then serve.

Each opening of a grant is one on-chain redemption carrying two signatures the contract
checks itself: the grantor's access token and the physician's own EIP-712 ``Redemption``
(fresh nonce, deadline). :func:`redemption_request` hands the physician the typed data to
sign; :func:`redeem` takes the token with that signature.

Order matters: the cheap offline checks (token, physician signature, deadline) and the
chain reads refuse most bad requests with a precise reason before any transaction is sent;
the contract re-checks everything when the redemption is recorded
(``ChainViewAPI.record_redemption`` raises the same errors on a revert), and the grant
joins the session only once that transaction is final.
"""

from __future__ import annotations

import os
from typing import Any

from gateway.abc import ChainViewAPI, SessionStoreAPI
from gateway.domain import GrantState, PhysicianApproval, Redemption, Session
from gateway.exceptions import (
    GrantExhausted,
    GrantExpired,
    GrantRevoked,
    MalformedAccessToken,
    NotReferred,
    RedemptionDeadline,
    RedemptionUnsigned,
    TokenForged,
    TokenMismatch,
    TokenWrongChain,
    UnknownGrant,
    WrongHospital,
    WrongPhysician,
)
from gateway.settings import GatewaySettings
from keys import exceptions as token_errors
from keys.tokens import AccessClaims, TokenVerifier, parse_token
from keys.typed_data import recover_signer, redemption_signable, redemption_typed_data
from keys.typing import GrantId

#: How long a physician has to sign and send a redemption the gateway prepared.
REDEMPTION_WINDOW_S = 300
#: A signed deadline further ahead than this is refused: a leaked signature stays short-lived.
MAX_DEADLINE_AHEAD_S = 3600


def _verify_token(
    *, settings: GatewaySettings, token: str, issuer: str, now: float
) -> AccessClaims:
    verifier = TokenVerifier(
        chain_id=settings.chain_id,
        grants_contract=settings.grants_contract,
        grantee=settings.hospital,
    )
    try:
        return verifier.verify_at_time(token, issuer=issuer, now=now)
    except token_errors.MalformedToken as exc:
        raise MalformedAccessToken("not an access token") from exc
    except (token_errors.BadSignature, token_errors.WrongIssuer) as exc:
        raise TokenForged("the token is not signed by the grant's issuing hospital") from exc
    except (token_errors.WrongChain, token_errors.WrongContract) as exc:
        raise TokenWrongChain("the token is for another chain or Grants contract") from exc
    except token_errors.WrongGrantee as exc:
        raise WrongHospital("the token was issued to another hospital") from exc
    except token_errors.TokenExpired as exc:
        raise GrantExpired("the access token has expired") from exc


def check_grant(
    *, state: GrantState, settings: GatewaySettings, session: Session, now: float
) -> None:
    """Refuse, with the reason, unless the chain lets this session's physician redeem now."""
    if state.grantee != settings.hospital:
        raise WrongHospital("the grant was issued to another hospital")
    if state.revoked:
        raise GrantRevoked("the grant was revoked")
    if now >= state.expiry:
        raise GrantExpired("the grant has expired")
    if state.uses_left <= 0:
        raise GrantExhausted("the grant has no uses left")
    if not state.referral_active:
        raise NotReferred("the case's referral is not active")
    if state.physician is not None and state.physician != session.physician:
        raise WrongPhysician("the grant names another physician")


def _checked_grant(
    *, settings: GatewaySettings, chain: ChainViewAPI, session: Session, token: str, now: float
) -> tuple[GrantId, GrantState, AccessClaims]:
    """The token's grant, refused with the reason unless this session may open it now."""
    try:
        grant = GrantId(parse_token(token).grant_id)
    except token_errors.TokenError as exc:
        raise MalformedAccessToken("not an access token") from exc
    state = chain.grant_state(grant=grant)
    if state is None:
        raise UnknownGrant("the chain knows no such grant")
    claims = _verify_token(settings=settings, token=token, issuer=state.grantor, now=now)
    if claims.case_id != state.case_id:
        raise TokenMismatch("the token names another case than the grant on chain")
    check_grant(state=state, settings=settings, session=session, now=now)
    return grant, state, claims


def redemption_request(
    *, settings: GatewaySettings, chain: ChainViewAPI, session: Session, token: str, now: float
) -> tuple[GrantId, bytes, int, dict[str, Any]]:
    """The typed data this session's physician signs to open the token's grant once."""
    grant, _, claims = _checked_grant(
        settings=settings, chain=chain, session=session, token=token, now=now
    )
    nonce = os.urandom(32)
    deadline = int(now) + REDEMPTION_WINDOW_S
    fields = _redemption_fields(settings, grant, claims, nonce, deadline)
    return grant, nonce, deadline, redemption_typed_data(**fields)


def redeem(
    *,
    settings: GatewaySettings,
    chain: ChainViewAPI,
    sessions: SessionStoreAPI,
    session: Session,
    token: str,
    nonce: bytes,
    deadline: int,
    signature: bytes,
    now: float,
) -> tuple[Redemption, GrantState]:
    """Verify token and physician's signature, record the opening on chain, join the session.

    The opening is final on chain before the grant joins the session.
    """
    grant, state, claims = _checked_grant(
        settings=settings, chain=chain, session=session, token=token, now=now
    )
    if deadline < now:
        raise RedemptionDeadline("the signed redemption's deadline has passed; sign a new one")
    if deadline > now + MAX_DEADLINE_AHEAD_S:
        raise RedemptionDeadline(f"the signed deadline is more than {MAX_DEADLINE_AHEAD_S} s ahead")
    signable = redemption_signable(**_redemption_fields(settings, grant, claims, nonce, deadline))
    if recover_signer(signable, signature) != session.physician:
        raise RedemptionUnsigned("the redemption is not signed by this session's physician")
    approval = PhysicianApproval(
        physician=session.physician, nonce=nonce, deadline=deadline, signature=signature
    )
    redemption = chain.record_redemption(grant=grant, token=token, approval=approval)
    sessions.add_grant(session.digest, grant)
    return redemption, state


def _redemption_fields(
    settings: GatewaySettings, grant: GrantId, claims: AccessClaims, nonce: bytes, deadline: int
) -> dict[str, Any]:
    return {
        "chain_id": settings.chain_id,
        "grants_contract": settings.grants_contract,
        "grant_id": int.from_bytes(bytes(grant), "big"),
        "token_nonce": claims.nonce,
        "nonce": nonce,
        "deadline": deadline,
    }
