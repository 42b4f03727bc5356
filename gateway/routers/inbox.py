"""The signed-in physician's inbox: cases granted to their hospital, or to them by name."""

from __future__ import annotations

from fastapi import APIRouter

from common.web import SafeJSONRoute
from gateway.deps import CurrentPhysician, ServicesDep
from gateway.exceptions import ChainUnavailable
from gateway.models import InboxItem
from gateway.responses import errors

router = APIRouter(tags=["grants"], route_class=SafeJSONRoute)


@router.get("/inbox", response_model=list[InboxItem], responses=errors(401, 403, 503))
def inbox(physician: CurrentPhysician, services: ServicesDep) -> list[InboxItem]:
    """Grants delivered to this hospital that this physician may open, newest first."""
    if services.inbox is None:
        raise ChainUnavailable("this gateway has no inbox (no node case store configured)")
    mine = [e for e in services.inbox.entries() if e.physician in (None, physician)]
    return [InboxItem(grant="0x" + e.grant_id.hex(), case="0x" + e.case_id.hex(),
                      referral=e.referral_id, grantor=e.grantor, grantor_name=e.grantor_name,
                      reason_code=e.reason_code, expiry=e.expiry, max_uses=e.max_uses,
                      uses_left=e.uses_left, named_physician=e.physician is not None,
                      revoked=e.revoked, delivered_at=e.delivered_at)
            for e in mine]  # fmt: skip
