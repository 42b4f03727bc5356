"""Break-glass: an upper-tier physician opens a lower tier's case without a prior grant."""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from fastapi import APIRouter

from common.web import SafeJSONRoute
from gateway.deps import CurrentSession, ServicesDep, SettingsDep
from gateway.models import (
    BreakGlassOpen,
    BreakGlassOpened,
    BreakGlassRedeem,
    BreakGlassRequest,
    BreakGlassTransaction,
    RedeemResponse,
)
from gateway.responses import errors
from gateway.services import breakglass as service
from keys.typing import CaseId, HospitalAddress

router = APIRouter(prefix="/break-glass", tags=["break-glass"], route_class=SafeJSONRoute)


@router.post("", response_model=BreakGlassTransaction, responses=errors(400, 401, 403, 429, 503))
def prepare(body: BreakGlassRequest, session: CurrentSession,
            services: ServicesDep) -> BreakGlassTransaction:  # fmt: skip
    """The Grants.breakGlass transaction to sign (dry-run first: 403 not upper tier, 429)."""
    tx = service.prepare(
        chain=services.break_glass, session=session, case=CaseId(bytes.fromhex(body.case[2:])),
        grantor=HospitalAddress(to_checksum_address(body.grantor)), reason_code=body.reason_code,
        duration=body.duration, max_uses=body.max_uses,
    )  # fmt: skip
    return BreakGlassTransaction(transaction=tx)


@router.post(
    "/open",
    response_model=BreakGlassOpened,
    responses=errors(400, 401, 403, 409, 429, 503, 504),
)
def open_glass(body: BreakGlassOpen, session: CurrentSession, settings: SettingsDep,
               services: ServicesDep) -> BreakGlassOpened:  # fmt: skip
    """Relay the signed break-glass, wait for the owner's keys; the Redemption to sign."""
    grant, nonce, deadline, typed = service.open_glass(
        settings=settings, chain=services.break_glass, view=services.chain,
        inbox=services.inbox, session=session,
        raw_transaction=bytes.fromhex(body.signed_transaction[2:]), now=services.clock(),
    )  # fmt: skip
    return BreakGlassOpened(grant="0x" + grant.to_bytes(32, "big").hex(),
                            nonce="0x" + nonce.hex(), deadline=deadline,
                            typed_data=typed)  # fmt: skip


@router.post(
    "/redeem", response_model=RedeemResponse, responses=errors(400, 401, 403, 404, 410, 503)
)
def redeem(body: BreakGlassRedeem, session: CurrentSession, settings: SettingsDep,
           services: ServicesDep) -> RedeemResponse:  # fmt: skip
    """Open the break-glass grant once (the physician's signed Redemption), final on chain."""
    redemption, state = service.redeem(
        settings=settings, chain=services.break_glass, view=services.chain,
        sessions=services.sessions, session=session, grant=int(body.grant, 16),
        nonce=bytes.fromhex(body.nonce[2:]), deadline=body.deadline,
        signature=bytes.fromhex(body.signature[2:]), now=services.clock(),
    )  # fmt: skip
    return RedeemResponse(grant="0x" + state.grant_id.hex(), case="0x" + state.case_id.hex(),
                          tx_hash="0x" + redemption.tx_hash.hex(),
                          block=redemption.block_number)  # fmt: skip
