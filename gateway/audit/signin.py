"""Auditor sign-in: the physician's signed-challenge flow, gated on ``Consortium.isAuditor``.

Auditor sessions live in their *own* :class:`~gateway.abc.SessionStoreAPI` instance (the
``Session.physician`` field holds the auditor's address there, ``grants`` stays empty) and
their tokens are digested under a separate label, so an auditor token is unknown to every
physician route and a physician token to every audit route: the auditor never gets a
physician session, hence never a byte of plaintext. The role is re-read on chain on every
request, so removing an auditor by vote locks them out at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import to_checksum_address

from gateway.abc import SessionStoreAPI
from gateway.audit.abc import AuditTrailAPI
from gateway.audit.errors import NotAuditor
from gateway.domain import Challenge, Session
from gateway.exceptions import MalformedSignature, WrongSigner
from gateway.settings import GatewaySettings
from gateway.typing import PhysicianAddress, SessionDigest

NONCE_BYTES = 32
TOKEN_BYTES = 32
#: Domain separation of the token digest from physician sessions' digests.
DIGEST_LABEL = b"medledger auditor session\x00"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def challenge_message(*, settings: GatewaySettings, auditor: str, nonce: bytes, now: float) -> str:
    """The EIP-191 text an auditor signs (says it is a read-only auditor sign-in)."""
    return (
        f"{settings.public_url} asks you to sign in as a consortium AUDITOR (read-only).\n\n"
        "Signing proves you hold your registered auditor key. It sends no transaction and "
        "gives no access to any record's content.\n\n"
        f"URI: {settings.public_url}\n"
        f"Auditor: {auditor}\n"
        f"Chain ID: {settings.chain_id}\n"
        f"Nonce: {nonce.hex()}\n"
        f"Issued At: {_iso(now)}\n"
        f"Expiration Time: {_iso(now + settings.challenge_ttl_seconds)}"
    )


def issue_challenge(
    *, settings: GatewaySettings, store: SessionStoreAPI, auditor: PhysicianAddress, now: float
) -> Challenge:
    """Create, store and return a single-use challenge for ``auditor``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    challenge = Challenge(
        nonce=nonce,
        physician=auditor,
        message=challenge_message(settings=settings, auditor=auditor, nonce=nonce, now=now),
        expires_at=now + settings.challenge_ttl_seconds,
    )
    store.put_challenge(challenge, now=now)
    return challenge


def token_digest(*, settings: GatewaySettings, token: str) -> SessionDigest:
    key = settings.session_secret.get_secret_value().encode()
    return SessionDigest(hmac.new(key, DIGEST_LABEL + token.encode(), hashlib.sha256).digest())


def check_auditor(*, trail: AuditTrailAPI, auditor: str) -> None:
    if not trail.is_auditor(auditor):
        raise NotAuditor("this key is not an auditor of the consortium")


def open_session(
    *,
    settings: GatewaySettings,
    store: SessionStoreAPI,
    trail: AuditTrailAPI,
    auditor: PhysicianAddress,
    nonce: bytes,
    signature: bytes,
    now: float,
) -> tuple[str, Session]:
    """Check the signed challenge and the auditor role on chain; return a token and session.

    The challenge is consumed first, so each one gets exactly one attempt.
    """
    challenge = store.take_challenge(nonce, now=now)
    if challenge.physician != auditor:
        raise WrongSigner("the challenge was issued to another address")
    try:
        signer = Account.recover_message(
            encode_defunct(text=challenge.message), signature=signature
        )
    except Exception as exc:  # eth-account raises several unrelated types for junk input
        raise MalformedSignature("the signature does not recover to any key") from exc
    if to_checksum_address(signer) != auditor:
        raise WrongSigner("the signature was not made by this auditor's key")
    check_auditor(trail=trail, auditor=auditor)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session = Session(
        digest=token_digest(settings=settings, token=token),
        physician=auditor,
        hospital=settings.hospital,
        issued_at=now,
        expires_at=now + settings.session_ttl_seconds,
    )
    store.put_session(session)
    return token, session


def authenticate(
    *,
    settings: GatewaySettings,
    store: SessionStoreAPI,
    trail: AuditTrailAPI,
    token: str,
    now: float,
) -> PhysicianAddress:
    """The auditor of a live session; ends it if the auditor was removed meanwhile."""
    digest = token_digest(settings=settings, token=token)
    session = store.get_session(digest, now=now)
    try:
        check_auditor(trail=trail, auditor=session.physician)
    except NotAuditor:
        store.end_session(digest)
        raise
    return session.physician
