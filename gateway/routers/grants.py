"""Redeeming access grants: the step between signing in and reading a case."""

from __future__ import annotations

from fastapi import APIRouter

from common.web import SafeJSONRoute
from gateway.deps import CurrentSession, ServicesDep, SettingsDep
from gateway.models import (
    RedeemRequest,
    RedeemResponse,
    RedemptionRequestBody,
    RedemptionRequestResponse,
)
from gateway.responses import errors
from gateway.services import redeem as service

router = APIRouter(prefix="/grants", tags=["grants"], route_class=SafeJSONRoute)


@router.post(
    "/redemption-request",
    response_model=RedemptionRequestResponse,
    responses=errors(400, 401, 403, 404, 410, 503),
)
def redemption_request(
    body: RedemptionRequestBody,
    session: CurrentSession,
    settings: SettingsDep,
    services: ServicesDep,
) -> RedemptionRequestResponse:
    """The EIP-712 Redemption (fresh nonce, deadline) the physician signs to open the grant once."""
    # The token is checked first (the same refusals as redeem), so a physician never signs
    # for a grant that cannot open.
    grant, nonce, deadline, typed = service.redemption_request(
        settings=settings,
        chain=services.chain,
        session=session,
        token=body.token,
        now=services.clock(),
    )
    return RedemptionRequestResponse(
        grant="0x" + bytes(grant).hex(), nonce="0x" + nonce.hex(), deadline=deadline,
        typed_data=typed,
    )  # fmt: skip


@router.post(
    "/redeem", response_model=RedeemResponse, responses=errors(400, 401, 403, 404, 410, 503)
)
def redeem(
    body: RedeemRequest, session: CurrentSession, settings: SettingsDep, services: ServicesDep
) -> RedeemResponse:
    """Open a grant once: token and physician's signed Redemption, verified, final on chain."""
    # Both signatures are checked here (403 before any transaction) and again by the
    # contract; nothing is served before the opening is final.
    redemption, state = service.redeem(
        settings=settings,
        chain=services.chain,
        sessions=services.sessions,
        session=session,
        token=body.token,
        nonce=body.nonce_bytes,
        deadline=body.deadline,
        signature=body.signature_bytes,
        now=services.clock(),
    )
    return RedeemResponse(
        grant="0x" + state.grant_id.hex(),
        case="0x" + state.case_id.hex(),
        tx_hash="0x" + redemption.tx_hash.hex(),
        block=redemption.block_number,
    )
