"""HTTP API for referrals and grants (hospital systems) and the peer endpoints (other nodes).

Two routers: ``router`` for the hospital's own systems (HIS/PACS), every route behind the
operator API token (``Authorization: Bearer …``); ``peer_router`` for other hospitals'
nodes: ``POST /deliveries`` is authenticated by the grantor's signed ``GrantDelivery`` and
``GET /blocks/{cid}`` serves raw blocks, which hold only ciphertext and wrapped keys and
are verified by the fetcher against their CID.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse

from common.errors import ErrorBody, exception_code
from common.errors import error_response as error_response_body
from common.web import SafeJSONRoute
from node.api.cases_models import (
    BreakGlassReviewIn,
    BreakGlassReviewOut,
    BreakGlassRow,
    CaseRecordsIn,
    CaseRecordsOut,
    DeclineIn,
    DeliveryIn,
    DeliveryOut,
    GrantIn,
    GrantOut,
    GrantRow,
    InboxRow,
    PollOut,
    ReferBackIn,
    ReferIn,
    ReferralOut,
    ReferralRow,
    RekeyIn,
    RekeyOut,
    RevokeOut,
    ShredOut,
)  # fmt: skip
from node.api.deps import require_token
from node.blobstore.cid import normalize
from node.cases import breakglass, delivery, forget, grants, inbox, referrals
from node.cases.follower import Follower
from node.cases.ids import parse_address, parse_case_id, parse_record_id
from node.cases.service import CaseServices
from node.exceptions import (
    BlobNotFound,
    BlobStoreError,
    ChainUnavailable,
    ContractReverted,
    DeliveryError,
    InvalidCaseInput,
    NodeError,
    PeerUnavailable,
    RecordKeyUnavailable,
    RecordNotAnchored,
    StaleDelivery,
    UnknownCase,
    UnknownRecord,
)  # fmt: skip

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong operator API token"},
    404: {"model": ErrorBody, "description": "unknown case or record"},
    409: {"model": ErrorBody, "description": "the contract refused (error names the rule)"},
    422: {"model": ErrorBody, "description": "malformed input"},
    502: {"model": ErrorBody, "description": "another hospital's node failed"},
    503: {"model": ErrorBody, "description": "the chain is unreachable"},
}


async def _services(request: Request) -> CaseServices:
    services: CaseServices = request.state.case_services
    return services


class _NodeErrorRoute(SafeJSONRoute):
    """Maps ``NodeError`` to its HTTP answer inside the route (bodies parsed by orjson).

    A router cannot install app-wide exception handlers, and these routers are mounted on
    the node's app, so the mapping travels with the routes.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def mapped(request: Request) -> Response:
            try:
                return await handler(request)
            except NodeError as exc:
                return error_response(exc)

        return mapped


Services = Annotated[CaseServices, Depends(_services)]
#: A referral or grant id: a chain counter (uint256 on chain). Bounded here, so a negative
#: or huge id is a 422 and not an ABI encoding error (a 500) deep in the chain client.
ChainCounter = Annotated[int, Path(ge=0, lt=2**64)]
router = APIRouter(tags=["cases"], responses=ERRORS, route_class=_NodeErrorRoute)
peer_router = APIRouter(tags=["peers"], route_class=_NodeErrorRoute)


def error_response(exc: NodeError) -> JSONResponse:
    """Map a node error to its HTTP status (also used by the CLI's ``--json`` shape)."""
    status, name = 400, None
    if isinstance(exc, ContractReverted):
        status, name = 409, exc.error
    elif isinstance(exc, RecordKeyUnavailable | RecordNotAnchored):
        status = 409
    elif isinstance(exc, InvalidCaseInput):
        status = 422
    elif isinstance(exc, UnknownCase | UnknownRecord | BlobNotFound):
        status = 404
    elif isinstance(exc, StaleDelivery):
        status = 409
    elif isinstance(exc, DeliveryError):
        status = 403
    elif isinstance(exc, PeerUnavailable):
        status = 502
    elif isinstance(exc, ChainUnavailable):
        status = 503
    return error_response_body(name or exception_code(exc), str(exc), status)


@router.post("/cases/{case_id}/records", response_model=CaseRecordsOut)
def attach_records(case_id: str, body: CaseRecordsIn, services: Services) -> CaseRecordsOut:
    """Attach records (ingested on this node) to a case, so a grant of the case covers them."""
    cid = parse_case_id(case_id)
    ids = [parse_record_id(r) for r in body.record_ids]
    for rid in ids:
        services.records.record(rid)  # refuses a record that is not ours
    added = services.store.add_records(cid, ids)
    rows = services.store.case_records(cid)
    return CaseRecordsOut(case_id="0x" + cid.hex(), record_ids=[r.hex() for r in rows], added=added)


@router.get("/cases/{case_id}/records", response_model=CaseRecordsOut)
def case_records(case_id: str, services: Services) -> CaseRecordsOut:
    """The records attached to a case on this node."""
    cid = parse_case_id(case_id)
    rows = services.store.case_records(cid)
    return CaseRecordsOut(case_id="0x" + cid.hex(), record_ids=[r.hex() for r in rows])


@router.post("/referrals", response_model=ReferralOut)
def refer(body: ReferIn, services: Services) -> ReferralOut:
    """Refer a case up to a higher-tier hospital (``Referrals.initiate``)."""
    result = referrals.refer(services=services, case_id=parse_case_id(body.case_id),
                             target=body.to, reason_code=body.reason_code,
                             expires_at=body.expires_at)  # fmt: skip
    return ReferralOut.model_validate(result.as_dict())


@router.get("/referrals", response_model=list[ReferralRow])
def list_referrals(services: Services) -> list[ReferralRow]:
    """Referrals this hospital made or received."""
    return [ReferralRow.model_validate(r) for r in referrals.referrals(services=services)]


@router.post("/referrals/{referral_id}/accept", response_model=ReferralOut)
def accept(referral_id: ChainCounter, services: Services) -> ReferralOut:
    """Accept a referral addressed to this hospital."""
    return ReferralOut.model_validate(
        referrals.accept(services=services, referral_id=referral_id).as_dict()
    )


@router.post("/referrals/{referral_id}/decline", response_model=ReferralOut)
def decline(referral_id: ChainCounter, body: DeclineIn, services: Services) -> ReferralOut:
    """Decline a pending referral addressed to this hospital."""
    result = referrals.decline(services=services, referral_id=referral_id,
                               reason_code=body.reason_code)  # fmt: skip
    return ReferralOut.model_validate(result.as_dict())


@router.post("/referrals/{referral_id}/complete", response_model=ReferralOut)
def complete(referral_id: ChainCounter, services: Services) -> ReferralOut:
    """Mark an accepted referral as completed (treatment done)."""
    return ReferralOut.model_validate(
        referrals.complete(services=services, referral_id=referral_id).as_dict()
    )


@router.post("/referrals/{referral_id}/refer-back", response_model=ReferralOut)
def refer_back(referral_id: ChainCounter, body: ReferBackIn, services: Services) -> ReferralOut:
    """Refer a completed case back down to the hospital that referred it up."""
    result = referrals.refer_back(services=services, referral_id=referral_id,
                                  reason_code=body.reason_code,
                                  expires_at=body.expires_at)  # fmt: skip
    return ReferralOut.model_validate(result.as_dict())


@router.post("/grants", response_model=GrantOut)
def grant(body: GrantIn, services: Services) -> GrantOut:
    """Grant the referral's target access to the case: wrap keys, issue, mint, deliver."""
    result = grants.issue_grant(services=services, case_id=parse_case_id(body.case_id),
                                grantee=body.to, physician=body.physician,
                                expires_at=body.expires_at, max_uses=body.max_uses,
                                referral_id=body.referral_id)  # fmt: skip
    return GrantOut.model_validate(result.as_dict())


@router.get("/grants", response_model=list[GrantRow])
def list_grants(services: Services) -> list[GrantRow]:
    """Grants this hospital issued or received, with their local state."""
    return [GrantRow.model_validate({**row, "case_id": "0x" + bytes(row["case_id"]).hex()})
            for row in services.store.grants()]  # fmt: skip


@router.get("/grants/inbox", response_model=list[InboxRow])
def grant_inbox(services: Services) -> list[InboxRow]:
    """Grants delivered to this hospital (newest first), with uses left read on chain."""
    return [InboxRow.model_validate(row) for row in inbox.inbox(services=services)]


@router.post("/grants/{grant_id}/revoke", response_model=RevokeOut)
def revoke(grant_id: ChainCounter, services: Services) -> RevokeOut:
    """Revoke a grant this hospital issued: no redemption succeeds afterwards."""
    return RevokeOut.model_validate(grants.revoke_grant(services=services, grant_id=grant_id))


@router.post("/grants/deliver-pending", response_model=list[int])
def deliver_pending(services: Services) -> list[int]:
    """Retry delivering tokens whose grantee node was unreachable; returns the grant ids sent."""
    return grants.deliver_pending(services=services)


@router.get("/break-glass", response_model=list[BreakGlassRow])
def list_break_glass(services: Services, pending_review: bool = False) -> list[BreakGlassRow]:
    """Break-glass openings of our cases (newest first): what our policy did, and reviews."""
    rows = breakglass.openings(services=services, pending_review=pending_review)
    return [BreakGlassRow.model_validate(r) for r in rows]


@router.post("/break-glass/{grant_id}/review", response_model=BreakGlassReviewOut)
def review_break_glass(
    grant_id: ChainCounter, body: BreakGlassReviewIn, services: Services
) -> BreakGlassReviewOut:
    """Record on chain whether a break-glass opening of our case was justified (once)."""
    result = breakglass.review(services=services, grant_id=grant_id, justified=body.justified,
                               note=body.note)  # fmt: skip
    return BreakGlassReviewOut.model_validate(result)


@router.post("/follower/poll", response_model=PollOut)
def poll(request: Request) -> PollOut:
    """Run one follower pass now (the node also runs it in the background)."""
    follower: Follower = request.state.case_follower
    r = follower.poll_once()
    return PollOut(events=r.events, applied=r.applied, replicated=r.replicated,
                   unpinned=r.unpinned, next_block=r.next_block)  # fmt: skip


@router.post("/cases/records/{record_id}/rekey", response_model=RekeyOut)
def rekey(record_id: str, body: RekeyIn, services: Services) -> RekeyOut:
    """Re-encrypt a record under a new data key; re-grant it to every grantee not dropped."""
    result = forget.rekey_record(
        services=services, record_id=parse_record_id(record_id),
        drop_grantees=[parse_address(a, "grantee") for a in body.drop_grantees],
    )  # fmt: skip
    return RekeyOut.model_validate(result.as_dict())


@router.post("/cases/records/{record_id}/shred", response_model=ShredOut)
def shred(record_id: str, services: Services) -> ShredOut:
    """Crypto-shred a record: destroy its wrapped data keys and ciphertext (anchor stays)."""
    result = forget.shred_record(services=services, record_id=parse_record_id(record_id))
    return ShredOut.model_validate(result)


@peer_router.post(
    "/deliveries",
    response_model=DeliveryOut,
    responses={
        403: {"model": ErrorBody,
              "description": "unsigned, wrongly signed, or token/grant does not check out"},
        409: {"model": ErrorBody,
              "description": "not newer than the delivery already accepted for the grant"},
    },
)  # fmt: skip
def receive_delivery(body: DeliveryIn, services: Services) -> DeliveryOut:
    """Receive a grant from the granting hospital (its signed GrantDelivery and token)."""
    result = delivery.receive(services=services, token=body.token, package_cid=body.package_cid,
                              issued_at=body.issued_at, signature=body.signature,
                              break_glass_grant=body.break_glass_grant)  # fmt: skip
    return DeliveryOut.model_validate(result)


@peer_router.get(
    "/blocks/{cid}",
    response_class=Response,
    responses={200: {"content": {"application/vnd.ipld.raw": {}}},
               404: {"model": ErrorBody, "description": "no such block here"}},
)  # fmt: skip
def block(cid: str, services: Services) -> Response:
    """One raw block by CID (ciphertext or wrapped keys only; the fetcher re-verifies it)."""
    try:
        data = services.blobs.block(normalize(cid))
    except BlobStoreError as exc:
        raise HTTPException(404 if isinstance(exc, BlobNotFound) else 422, str(exc)) from None
    return Response(data, media_type="application/vnd.ipld.raw")


def case_routers(services: CaseServices, follower: Follower) -> list[APIRouter]:
    """The routers to mount on the node's app (``node.api.app.create_app(routers=...)``).

    Each wraps the module's routes with a dependency that binds this node's services to the
    request, so several nodes (tests) can run in one process; operator routes also require
    the node's API token (:func:`node.api.deps.require_token`).
    """

    async def bind(request: Request) -> None:  # a state write: no worker thread (see deps)
        request.state.case_services = services
        request.state.case_follower = follower

    operator = APIRouter(dependencies=[Depends(bind), Depends(require_token)])
    operator.include_router(router)
    peers = APIRouter(dependencies=[Depends(bind)])
    peers.include_router(peer_router)
    return [operator, peers]
