"""The one table of what the suite's custom errors mean to a caller.

:mod:`contracts.errors` turns revert data into an error *name*; this table says what each
name the node, the gateway and the consortium tooling react to *means*. Each package maps a
:class:`Refusal` (never a name) to its own exception class, so adding or renaming a
Solidity error is one edit here, checked against the ABIs by ``tests/contracts``.
"""

from __future__ import annotations

import enum


class Refusal(enum.Enum):
    """Why a contract refused, in the terms callers act on."""

    #: A rule without a dedicated meaning: the name itself is the explanation.
    RULE = "rule"
    NOT_ACTIVE_MEMBER = "not_active_member"
    ALREADY_ANCHORED = "already_anchored"
    UNKNOWN_GRANT = "unknown_grant"
    GRANT_REVOKED = "grant_revoked"
    GRANT_EXPIRED = "grant_expired"
    GRANT_EXHAUSTED = "grant_exhausted"
    REFERRAL_NOT_ACTIVE = "referral_not_active"
    NOT_AUTHORIZED_TO_REDEEM = "not_authorized_to_redeem"
    PHYSICIAN_NOT_ACTIVE = "physician_not_active"
    WRONG_PHYSICIAN = "wrong_physician"
    REPLAYED = "replayed"
    #: The access token is not this grant's, or not signed by its grantor.
    TOKEN_INVALID = "token_invalid"
    #: The physician's Redemption signature is missing or not the physician's.
    PHYSICIAN_SIGNATURE_INVALID = "physician_signature_invalid"
    DEADLINE_PASSED = "deadline_passed"
    BREAK_GLASS_RATE_LIMITED = "break_glass_rate_limited"
    NOT_REVIEWER = "not_reviewer"
    ALREADY_REVIEWED = "already_reviewed"


#: Custom error name -> meaning; every other name is :attr:`Refusal.RULE`.
REVERTS: dict[str, Refusal] = {
    "NotActiveMember": Refusal.NOT_ACTIVE_MEMBER,
    "BatchAlreadyAnchored": Refusal.ALREADY_ANCHORED,
    "UnknownGrant": Refusal.UNKNOWN_GRANT,
    "GrantIsRevoked": Refusal.GRANT_REVOKED,
    "GrantExpired": Refusal.GRANT_EXPIRED,
    "GrantExhausted": Refusal.GRANT_EXHAUSTED,
    "ReferralNotActive": Refusal.REFERRAL_NOT_ACTIVE,
    "NotAuthorizedToRedeem": Refusal.NOT_AUTHORIZED_TO_REDEEM,
    "PhysicianNotActiveAtGrantee": Refusal.PHYSICIAN_NOT_ACTIVE,
    "PhysicianNotNamedInGrant": Refusal.WRONG_PHYSICIAN,
    "RedemptionReplayed": Refusal.REPLAYED,
    "TokenNotForGrant": Refusal.TOKEN_INVALID,
    "TokenNotSignedByGrantor": Refusal.TOKEN_INVALID,
    "PhysicianSignatureInvalid": Refusal.PHYSICIAN_SIGNATURE_INVALID,
    "RedemptionDeadlinePassed": Refusal.DEADLINE_PASSED,
    "BreakGlassRateLimited": Refusal.BREAK_GLASS_RATE_LIMITED,
    "NotReviewer": Refusal.NOT_REVIEWER,
    "AlreadyReviewed": Refusal.ALREADY_REVIEWED,
}


def meaning(error: str | None) -> Refusal | None:
    """The meaning of custom error ``error``; ``None`` when the revert was not decoded."""
    if error is None:
        return None
    return REVERTS.get(error, Refusal.RULE)
