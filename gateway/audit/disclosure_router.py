"""The auditor's view of the gateway's disclosure log: every read, verified against the chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from common.web import SafeJSONRoute
from gateway.audit.deps import CurrentAuditor
from gateway.audit.disclosure_model import AnchorOut, DisclosureReport
from gateway.audit.disclosures import report
from gateway.deps import ServicesDep, SettingsDep
from gateway.disclosure.abc import Filter
from gateway.disclosure.anchor import Anchorer
from gateway.disclosure.exceptions import LogUnavailable
from gateway.responses import errors

router = APIRouter(prefix="/audit", tags=["audit"], route_class=SafeJSONRoute)

_HEX = r"^0x([0-9a-fA-F]{2}){1,255}$"
RecordQ = Annotated[str | None, Query(pattern=_HEX, description="Only reads of this record.")]
GrantQ = Annotated[
    str | None, Query(pattern=r"^0x[0-9a-fA-F]{64}$", description="Only reads under this grant.")
]
After = Annotated[int, Query(ge=0, description="Only entries after this seq (paging).")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="At most this many entries.")]
PhysicianQ = Annotated[
    str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$", description="Only this physician's reads.")
]


def _anchorer(services: ServicesDep) -> Anchorer:
    if services.disclosures is None:
        raise LogUnavailable("this gateway keeps no disclosure log")
    return services.disclosures


@router.get("/disclosures", response_model=DisclosureReport, responses=errors(401, 403, 503))
def disclosures(_: CurrentAuditor, services: ServicesDep, settings: SettingsDep,
                record: RecordQ = None, grant: GrantQ = None, physician: PhysicianQ = None,
                after: After = 0, limit: Limit = 1000) -> DisclosureReport:  # fmt: skip
    """Reads served (by record, grant or physician), with the whole log verified on chain."""
    anchorer = _anchorer(services)
    where = Filter(record=record and record[2:].lower(), grant=grant and grant[2:].lower(),
                   physician=physician)  # fmt: skip
    found = report(hospital=settings.hospital, log=anchorer.log, chain=anchorer.chain, where=where)
    # The verification covers the whole log; the listing is paged (a log grows without end).
    page = [e for e in found.entries if e.seq > after][:limit]
    return found.model_copy(update={"entries": page})


@router.post(
    "/disclosures/anchor",
    response_model=AnchorOut,
    responses={204: {"description": "Every entry is anchored already."}, **errors(401, 403, 503)},
)
def anchor_now(_: CurrentAuditor, services: ServicesDep) -> AnchorOut | Response:
    """Anchor the log's head on chain now (sent by the gateway operator's account)."""
    anchored = _anchorer(services).anchor_now()
    if anchored is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return AnchorOut.of(anchored)
