"""Sign-in by proof of possession: challenge → personal-sign signature → session token.

Session tokens are opaque random 256-bit strings. The store keeps only
``HMAC-SHA256(session_secret, token)``, with the physician, hospital, expiry and the
grants redeemed in the session. Chosen over self-contained MAC'd tokens because a
session must be revocable at once (logout, suspension) and must carry redeemed grants
that change during its life; both need server state anyway. No password exists anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import to_checksum_address

from gateway.abc import ChainViewAPI, SessionStoreAPI
from gateway.domain import Challenge, PhysicianStatus, Session
from gateway.exceptions import (
    MalformedSignature,
    PhysicianNotRegistered,
    PhysicianSuspended,
    WrongSigner,
)
from gateway.settings import GatewaySettings
from gateway.typing import PhysicianAddress, SessionDigest

NONCE_BYTES = 32
TOKEN_BYTES = 32


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def challenge_message(
    *, settings: GatewaySettings, physician: PhysicianAddress, nonce: bytes, now: float
) -> str:
    """The EIP-191 text a physician signs; it says what it is for (modelled on EIP-4361)."""
    return (
        f"{settings.public_url} asks you to sign in as a physician of hospital "
        f"{settings.hospital}.\n\n"
        "Signing proves you hold your registered key. It sends no transaction and "
        "grants no access by itself.\n\n"
        f"URI: {settings.public_url}\n"
        f"Hospital: {settings.hospital}\n"
        f"Physician: {physician}\n"
        f"Chain ID: {settings.chain_id}\n"
        f"Nonce: {nonce.hex()}\n"
        f"Issued At: {_iso(now)}\n"
        f"Expiration Time: {_iso(now + settings.challenge_ttl_seconds)}"
    )


def issue_challenge(
    *,
    settings: GatewaySettings,
    sessions: SessionStoreAPI,
    physician: PhysicianAddress,
    now: float,
) -> Challenge:
    """Create, store and return a single-use challenge for ``physician``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    challenge = Challenge(
        nonce=nonce,
        physician=physician,
        message=challenge_message(settings=settings, physician=physician, nonce=nonce, now=now),
        expires_at=now + settings.challenge_ttl_seconds,
    )
    sessions.put_challenge(challenge, now=now)
    return challenge


def token_digest(*, settings: GatewaySettings, token: str) -> SessionDigest:
    """What the store keys a session on: the token under the server's HMAC secret."""
    key = settings.session_secret.get_secret_value().encode()
    return SessionDigest(hmac.new(key, token.encode(), hashlib.sha256).digest())


def check_physician(
    *, settings: GatewaySettings, chain: ChainViewAPI, physician: PhysicianAddress
) -> None:
    """Refuse unless the chain says ``physician`` is active at this gateway's hospital."""
    status = chain.physician_status(hospital=settings.hospital, physician=physician)
    if status is PhysicianStatus.NOT_REGISTERED:
        raise PhysicianNotRegistered("not a registered physician of this hospital")
    if status is PhysicianStatus.SUSPENDED:
        raise PhysicianSuspended("this physician is suspended at this hospital")


def _recover(message: str, signature: bytes) -> PhysicianAddress:
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=signature)
    except Exception as exc:  # eth-account raises several unrelated types for junk input
        raise MalformedSignature("the signature does not recover to any key") from exc
    return PhysicianAddress(to_checksum_address(signer))


def open_session(
    *,
    settings: GatewaySettings,
    sessions: SessionStoreAPI,
    chain: ChainViewAPI,
    physician: PhysicianAddress,
    nonce: bytes,
    signature: bytes,
    now: float,
) -> tuple[str, Session]:
    """Check the signed challenge and the chain; return a new bearer token and its session.

    The challenge is consumed before anything else is checked, so each challenge gets
    exactly one attempt whatever its outcome (no signature guessing, no replay).
    """
    challenge = sessions.take_challenge(nonce, now=now)
    if challenge.physician != physician:
        raise WrongSigner("the challenge was issued to another address")
    if _recover(challenge.message, signature) != physician:
        raise WrongSigner("the signature was not made by this physician's key")
    check_physician(settings=settings, chain=chain, physician=physician)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session = Session(
        digest=token_digest(settings=settings, token=token),
        physician=physician,
        hospital=settings.hospital,
        issued_at=now,
        expires_at=now + settings.session_ttl_seconds,
    )
    sessions.put_session(session)
    return token, session


def authenticate(
    *,
    settings: GatewaySettings,
    sessions: SessionStoreAPI,
    chain: ChainViewAPI,
    token: str,
    now: float,
) -> Session:
    """The live session of ``token``; ends it if the physician was suspended meanwhile."""
    digest = token_digest(settings=settings, token=token)
    session = sessions.get_session(digest, now=now)
    try:
        check_physician(settings=settings, chain=chain, physician=session.physician)
    except (PhysicianNotRegistered, PhysicianSuspended):
        sessions.end_session(digest)
        raise
    return session
