"""OpenAPI declarations of error responses, so every refusal a route can give is documented."""

from __future__ import annotations

from typing import Any

from common.errors import ErrorBody

_WHY = {
    400: "Malformed request (bad signature encoding, unsupported query key).",
    401: "Not signed in, or the sign-in attempt failed (unknown/used/expired challenge, "
    "wrong signer, invalid session).",
    403: "Refused: not an active physician of this hospital, or the grant does not allow it "
    "(forged token, wrong chain, wrong hospital or physician, referral not active).",
    404: "Not found, or outside every grant of this session (indistinguishable on purpose).",
    406: "No acceptable representation for the Accept header.",
    409: "The owner hospital refused the break-glass (revoked on chain).",
    410: "The grant is expired, revoked or has no uses left.",
    429: "Too many requests (sign-in challenges), or break-glass rate limit of the physician.",
    502: "Stored bytes do not match their anchored commitment; refused.",
    503: "The chain could not be reached or did not finalize in time; retry later.",
    504: "The owner hospital released no keys in time (its node is down or unreachable).",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry declaring ``statuses`` with the common error body."""
    return {status: {"model": ErrorBody, "description": _WHY[status]} for status in statuses}
