"""Errors of the gateway package; every one derives from :class:`GatewayError`.

Each error that reaches a client carries its HTTP status and a stable machine-readable
``code``: the app turns it into ``{"error": code, "detail": message}``, so a refusal always
says why (a viewer or a script can branch on ``code``; people read ``detail``).
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error raised by the gateway package."""

    status_code: int = 500
    code: str = "internal_error"


class ConfigurationError(GatewayError):
    """The settings are unusable (a default secret outside dev, a malformed address)."""


# --- 400: the request is malformed -------------------------------------------------------


class BadRequest(GatewayError):
    status_code = 400
    code = "bad_request"


class MalformedSignature(BadRequest):
    """Not a 65-byte secp256k1 signature that recovers to any key."""

    code = "malformed_signature"


class BadQuery(BadRequest):
    """A QIDO-RS query key or value this gateway cannot interpret."""

    code = "bad_query"


# --- 401: who are you? -------------------------------------------------------------------


class AuthenticationError(GatewayError):
    status_code = 401
    code = "unauthenticated"


class MissingCredentials(AuthenticationError):
    code = "missing_credentials"


class InvalidSession(AuthenticationError):
    """Unknown, expired or logged-out session token (one answer: no oracle)."""

    code = "invalid_session"


class ChallengeUnknown(AuthenticationError):
    """No challenge with this nonce was issued here (or it was purged long ago)."""

    code = "challenge_unknown"


class ChallengeUsed(AuthenticationError):
    """The challenge was already presented once: a replay."""

    code = "challenge_used"


class ChallengeExpired(AuthenticationError):
    code = "challenge_expired"


class WrongSigner(AuthenticationError):
    """The signature is valid but made by another key than the claimed physician's."""

    code = "wrong_signer"


# --- 403: known, but not allowed ---------------------------------------------------------


class Forbidden(GatewayError):
    status_code = 403
    code = "forbidden"


class PhysicianNotRegistered(Forbidden):
    """The address is not a registered physician of this gateway's hospital."""

    code = "physician_not_registered"


class PhysicianSuspended(Forbidden):
    code = "physician_suspended"


# --- 429: too many pending challenges ---------------------------------------------------


class TooManyChallenges(GatewayError):
    """The challenge store is full (for this address, or for everyone): retry after expiry.

    Refusing the new challenge keeps every pending one: evicting instead would let a flood
    of requests cancel a physician's sign-in in progress.
    """

    status_code = 429
    code = "too_many_challenges"


# --- 404 / 406 ---------------------------------------------------------------------------


class NotUpperTier(Forbidden):
    """Break-glass opens a lower tier's case from an upper tier only (``NotUpwardAccess``)."""

    code = "not_upper_tier"


class BreakGlassRateLimited(GatewayError):
    """The physician opened the glass as often as ``Grants`` allows in its window."""

    status_code = 429
    code = "break_glass_rate_limited"


class BreakGlassDenied(GatewayError):
    """The owner hospital refused the break-glass (its policy) and revoked it on chain."""

    status_code = 409
    code = "break_glass_denied"


class BreakGlassNotReleased(GatewayError):
    """The owner node did not deliver the keys in time (its policy may be ``deny``)."""

    status_code = 504
    code = "break_glass_not_released"


class NotFound(GatewayError):
    """Absent, or outside every grant of the session: the two look the same on purpose."""

    status_code = 404
    code = "not_found"


class NotAcceptable(GatewayError):
    """No representation we can produce matches the ``Accept`` header."""

    status_code = 406
    code = "not_acceptable"


# --- raised by the seams' implementations ------------------------------------------------


class IntegrityError(GatewayError):
    """Stored bytes do not match their anchored commitment: refused, never served.

    The case store raises it; 502 because the fault is upstream of the gateway (the blob
    store holds tampered or corrupted ciphertext), not in the request.
    """

    status_code = 502
    code = "integrity_failure"


class ContentMismatch(IntegrityError):
    """The ciphertext does not decrypt, or its plaintext does not re-hash to the anchor."""

    code = "content_mismatch"


class ProofInvalid(IntegrityError):
    """The record's batch inclusion proof does not lead from its commitment to its root."""

    code = "proof_invalid"


class NotAnchored(IntegrityError):
    """Nothing on chain commits to the record (root absent, or anchored by another party)."""

    code = "not_anchored"


# --- redeeming a grant: raised by the gateway's checks and by ChainViewAPI on a revert ----


class MalformedAccessToken(BadRequest):
    code = "malformed_token"


class UnknownGrant(NotFound):
    """The token names a grant the chain does not know."""

    code = "unknown_grant"


class GrantRefused(Forbidden):
    """The grant exists but does not let this physician at this hospital redeem it."""

    code = "grant_refused"


class TokenForged(GrantRefused):
    """Bad signature, or signed by someone other than the grant's issuing hospital."""

    code = "token_forged"


class TokenWrongChain(GrantRefused):
    """The token is for another chain or another Grants contract."""

    code = "wrong_chain"


class WrongHospital(GrantRefused):
    """The grant (or token) names another hospital as grantee."""

    code = "wrong_hospital"


class WrongPhysician(GrantRefused):
    """The grant is restricted to another physician."""

    code = "wrong_physician"


class NotReferred(GrantRefused):
    """The grant's referral is not active (declined, closed, or never accepted)."""

    code = "not_referred"


class TokenMismatch(GrantRefused):
    """The token's claims disagree with the grant on chain (case id)."""

    code = "token_mismatch"


class RedemptionUnsigned(GrantRefused):
    """The physician's Redemption signature is missing, malformed or not the physician's."""

    code = "redemption_signature_invalid"


class RedemptionDeadline(GrantRefused):
    """The signed redemption's deadline has passed, or lies too far ahead to accept."""

    code = "redemption_deadline"


class RedemptionReplayed(GrantRefused):
    """The signed redemption (its nonce) was already spent on this grant."""

    code = "redemption_replayed"


class GrantGone(GatewayError):
    """The grant was usable once and never will be again: 410."""

    status_code = 410
    code = "grant_gone"


class GrantExpired(GrantGone):
    code = "expired"


class GrantRevoked(GrantGone):
    code = "revoked"


class GrantExhausted(GrantGone):
    code = "exhausted"


class ChainUnavailable(GatewayError):
    """The chain could not be read or written in time (node down, no finality): retry later."""

    status_code = 503
    code = "chain_unavailable"
