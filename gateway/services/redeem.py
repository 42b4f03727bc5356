"""Redeeming an access token: verify offline, check on chain, record on chain, then serve.

Order matters: the cheap offline checks and the chain reads refuse most bad tokens with a
precise reason before any transaction is sent; the contract re-checks everything when the
redemption is recorded (``ChainViewAPI.record_redemption`` raises the same errors on a
revert), and the grant joins the session only once that transaction is final.
"""

from __future__ import annotations

from gateway.abc import ChainViewAPI, SessionStoreAPI
from gateway.domain import GrantState, Redemption, Session
from gateway.exceptions import (
    GrantExhausted,
    GrantExpired,
    GrantRevoked,
    MalformedAccessToken,
    NotReferred,
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
from keys.typing import GrantId


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


def redeem(
    *,
    settings: GatewaySettings,
    chain: ChainViewAPI,
    sessions: SessionStoreAPI,
    session: Session,
    token: str,
    now: float,
) -> tuple[Redemption, GrantState]:
    """Verify ``token``, record its redemption on chain (final), add the grant to the session."""
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
    redemption = chain.record_redemption(grant=grant, physician=session.physician, token=token)
    sessions.add_grant(session.digest, grant)
    return redemption, state
