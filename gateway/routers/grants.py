"""Redeeming access grants: the step between signing in and reading a case."""

from __future__ import annotations

from fastapi import APIRouter

from common.web import SafeJSONRoute
from gateway.deps import CurrentSession, ServicesDep, SettingsDep
from gateway.models import RedeemRequest, RedeemResponse
from gateway.responses import errors
from gateway.services import redeem as service

router = APIRouter(prefix="/grants", tags=["grants"], route_class=SafeJSONRoute)


@router.post(
    "/redeem", response_model=RedeemResponse, responses=errors(400, 401, 403, 404, 410, 503)
)
def redeem(
    body: RedeemRequest, session: CurrentSession, settings: SettingsDep, services: ServicesDep
) -> RedeemResponse:
    """Redeem an access token: verified, recorded on chain and final before anything is served."""
    redemption, state = service.redeem(
        settings=settings,
        chain=services.chain,
        sessions=services.sessions,
        session=session,
        token=body.token,
        now=services.clock(),
    )
    return RedeemResponse(
        grant="0x" + state.grant_id.hex(),
        case="0x" + state.case_id.hex(),
        tx_hash="0x" + redemption.tx_hash.hex(),
        block=redemption.block_number,
    )
