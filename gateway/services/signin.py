"""Sign-in by proof of possession, for every role: challenge → EIP-191 signature → session.

One mechanism, parameterized by :class:`Role` (physicians: :mod:`gateway.services.auth`,
auditors: :mod:`gateway.audit.signin`). Session tokens are opaque random 256-bit strings;
a store keeps only ``HMAC-SHA256(session_secret, label || token)`` with the signer, hospital
and expiry (and, for physicians, the grants redeemed in the session). Chosen over
self-contained MAC'd tokens because a session must be revocable at once (logout, suspension,
removal by vote) and must carry redeemed grants that change during its life; both need
server state anyway. Each role has its own store and digest label, so a token of one role is
unknown to every route of another. No password exists anywhere.

The role itself is checked on chain at sign-in and again on every request (``check``), so a
suspension or removal locks the signer out at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import to_checksum_address

from gateway.abc import SessionStoreAPI
from gateway.domain import Challenge, Session
from gateway.exceptions import Forbidden, MalformedSignature, WrongSigner
from gateway.settings import GatewaySettings
from gateway.typing import PhysicianAddress, SessionDigest

NONCE_BYTES = 32
TOKEN_BYTES = 32

#: Raises a :class:`~gateway.exceptions.Forbidden` unless the chain gives the address the role.
RoleCheck = Callable[[PhysicianAddress], None]


@dataclass(frozen=True, slots=True)
class Role:
    """What differs between roles: the words of the challenge and the digest label."""

    #: Title-case name, as the challenge's ``Physician:``/``Auditor:`` line says it.
    title: str
    #: What signing in means, after "asks you to sign in " (the message's first line).
    purpose: str
    #: What the signature does not do, said to the signer before they sign.
    promise: str
    #: Domain separation of this role's token digests from every other role's.
    digest_label: bytes


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def challenge_message(
    *, role: Role, settings: GatewaySettings, address: str, nonce: bytes, now: float
) -> str:
    """The EIP-191 text the signer signs; it says what it is for (modelled on EIP-4361)."""
    return (
        f"{settings.public_url} asks you to sign in {role.purpose.format(settings=settings)}."
        f"\n\nSigning proves you hold your registered key. {role.promise}\n\n"
        f"URI: {settings.public_url}\n"
        f"Hospital: {settings.hospital}\n"
        f"{role.title}: {address}\n"
        f"Chain ID: {settings.chain_id}\n"
        f"Nonce: {nonce.hex()}\n"
        f"Issued At: {_iso(now)}\n"
        f"Expiration Time: {_iso(now + settings.challenge_ttl_seconds)}"
    )


def issue_challenge(
    *,
    role: Role,
    settings: GatewaySettings,
    store: SessionStoreAPI,
    address: PhysicianAddress,
    now: float,
) -> Challenge:
    """Create, store and return a single-use challenge for ``address``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    message = challenge_message(role=role, settings=settings, address=address, nonce=nonce,
                                now=now)  # fmt: skip
    challenge = Challenge(nonce=nonce, physician=address, message=message,
                          expires_at=now + settings.challenge_ttl_seconds)  # fmt: skip
    store.put_challenge(challenge, now=now)
    return challenge


def token_digest(*, role: Role, settings: GatewaySettings, token: str) -> SessionDigest:
    """What the store keys a session on: the token under the server's HMAC secret."""
    key = settings.session_secret.get_secret_value().encode()
    message = role.digest_label + token.encode()
    return SessionDigest(hmac.new(key, message, hashlib.sha256).digest())


def _recover(message: str, signature: bytes) -> PhysicianAddress:
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=signature)
    except Exception as exc:  # eth-account raises several unrelated types for junk input
        raise MalformedSignature("the signature does not recover to any key") from exc
    return PhysicianAddress(to_checksum_address(signer))


def open_session(
    *,
    role: Role,
    settings: GatewaySettings,
    store: SessionStoreAPI,
    check: RoleCheck,
    address: PhysicianAddress,
    nonce: bytes,
    signature: bytes,
    now: float,
) -> tuple[str, Session]:
    """Check the signed challenge and the role on chain; return a bearer token and session.

    The challenge is consumed before anything else is checked, so each challenge gets
    exactly one attempt whatever its outcome (no signature guessing, no replay).
    """
    challenge = store.take_challenge(nonce, now=now)
    if challenge.physician != address:
        raise WrongSigner("the challenge was issued to another address")
    if _recover(challenge.message, signature) != address:
        raise WrongSigner(f"the signature was not made by this {role.title.lower()}'s key")
    check(address)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session = Session(
        digest=token_digest(role=role, settings=settings, token=token),
        physician=address,
        hospital=settings.hospital,
        issued_at=now,
        expires_at=now + settings.session_ttl_seconds,
    )
    store.put_session(session)
    return token, session


def authenticate(
    *,
    role: Role,
    settings: GatewaySettings,
    store: SessionStoreAPI,
    check: RoleCheck,
    token: str,
    now: float,
) -> Session:
    """The live session of ``token``; ends it if the chain no longer gives the role."""
    digest = token_digest(role=role, settings=settings, token=token)
    session = store.get_session(digest, now=now)
    try:
        check(session.physician)
    except Forbidden:
        store.end_session(digest)
        raise
    return session
