"""Referral commands of a hospital: refer up (lower tier), accept/decline/complete/refer back.

The contract enforces every rule (membership, tiers, who may do what); these functions
validate input, send the call and note the referral locally so ``grant`` can find it.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.typing import ReferralStatus
from node.cases.ids import parse_address
from node.cases.service import CaseServices
from node.exceptions import InvalidCaseInput

_U16 = 2**16


@dataclass(frozen=True, slots=True)
class ReferralResult:
    referral_id: int
    case_id: str
    status: str

    def as_dict(self) -> dict[str, object]:
        return {"referral_id": self.referral_id, "case_id": self.case_id, "status": self.status}


def _check_reason(reason_code: int) -> int:
    if not 0 <= reason_code < _U16:
        raise InvalidCaseInput("reason codes are 0..65535")
    return reason_code


def _check_expiry(services: CaseServices, expires_at: int) -> int:
    if expires_at <= services.clock():
        raise InvalidCaseInput("the expiry must be in the future")
    if expires_at >= 2**64:
        raise InvalidCaseInput("the expiry does not fit 64 bits")
    return expires_at


def _note(services: CaseServices, referral_id: int) -> ReferralResult:
    view = services.chain.referral(referral_id)
    status = ReferralStatus(view.status).name.lower()
    with services.store.transaction() as db:
        db.execute(
            "INSERT INTO referrals (referral_id, case_id, initiator, target, status, block) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (referral_id) DO UPDATE SET status = "
            "excluded.status",
            (referral_id, view.case_id, view.initiator, view.target, status,
             services.chain.head()),
        )  # fmt: skip
    return ReferralResult(referral_id, "0x" + view.case_id.hex(), status)


def refer(*, services: CaseServices, case_id: bytes, target: str, reason_code: int = 0,
          expires_at: int) -> ReferralResult:  # fmt: skip
    """Refer a case upward to ``target`` (``Referrals.initiate``)."""
    referral_id = services.chain.refer(
        case_id=case_id,
        target=parse_address(target, "target hospital"),
        reason_code=_check_reason(reason_code),
        expires_at=_check_expiry(services, expires_at),
    )
    return _note(services, referral_id)


def accept(*, services: CaseServices, referral_id: int) -> ReferralResult:
    services.chain.accept(referral_id)
    return _note(services, referral_id)


def decline(*, services: CaseServices, referral_id: int, reason_code: int = 0) -> ReferralResult:
    services.chain.decline(referral_id, reason_code=_check_reason(reason_code))
    return _note(services, referral_id)


def complete(*, services: CaseServices, referral_id: int) -> ReferralResult:
    services.chain.complete(referral_id)
    return _note(services, referral_id)


def refer_back(*, services: CaseServices, referral_id: int, reason_code: int = 0,
               expires_at: int) -> ReferralResult:  # fmt: skip
    """Refer a completed case back down to the hospital that referred it up."""
    back_id = services.chain.refer_back(
        referral_id,
        reason_code=_check_reason(reason_code),
        expires_at=_check_expiry(services, expires_at),
    )
    _note(services, referral_id)
    return _note(services, back_id)


def referrals(*, services: CaseServices) -> list[dict[str, object]]:
    """Referrals this node knows (its own and those addressed to it)."""
    rows = services.store.query(
        "SELECT referral_id, case_id, initiator, target, status FROM referrals ORDER BY referral_id"
    )
    return [
        {"referral_id": r[0], "case_id": "0x" + bytes(r[1]).hex(), "initiator": r[2],
         "target": r[3], "status": r[4]}
        for r in rows
    ]  # fmt: skip
