"""A case as the workspace shows it: each verified record in words, and its studies.

Records come from the case store's ``open_record``, which has re-hashed the plaintext
against the anchored commitment before returning a byte, so a record that reaches the
page *is* verified; one the store refuses is listed as refused, never shown.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from gateway.abc import CaseStoreAPI
from gateway.disclosure.entry import Kind
from gateway.disclosure.recorder import Discloser
from gateway.domain import RecordInfo
from gateway.exceptions import GatewayError, IntegrityError
from gateway.services import records
from gateway.workspace.fhir import Readable, readable
from keys.typing import CaseId, GrantId, RecordId

#: A record page shows at most this much of one record (a FHIR resource is a few KB).
MAX_RECORD_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class CaseRecord:
    record: str
    text: Readable | None
    #: Block of the record's anchor batch, when known; ``None`` for a record anchored alone.
    anchor_block: int | None
    #: Why the store refused it (``None``: verified and shown).
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class CaseStudy:
    study: str
    modalities: str
    series: int
    instances: int


@dataclass(frozen=True, slots=True)
class CaseView:
    case: str
    records: list[CaseRecord]
    studies: list[CaseStudy]


def _record(cases: CaseStoreAPI, grants: Collection[GrantId], info: RecordInfo,
            disclose: Discloser) -> CaseRecord:  # fmt: skip
    rid = "0x" + info.record_id.hex()
    # accounted before a byte is read out, as the JSON API's GET /records/{id} does
    disclose.record(kind=Kind.RECORD, grant=info.grant_id, record=info.record_id, size=info.size)
    try:
        with cases.open_record(grants=grants, record=info.record_id) as stream:
            data = stream.read(MAX_RECORD_BYTES + 1)
    except IntegrityError as exc:
        return CaseRecord(rid, None, info.anchor_block, refused=exc.code)
    if len(data) > MAX_RECORD_BYTES or "json" not in info.media_type:
        return CaseRecord(rid, Readable("Other", info.media_type, (f"{info.size} bytes",)),
                          info.anchor_block)  # fmt: skip
    try:
        resource = json.loads(data)
    except ValueError:
        resource = None
    return CaseRecord(rid, readable(resource), info.anchor_block)


def case_view(
    *, cases: CaseStoreAPI, grants: Collection[GrantId], case: CaseId, disclose: Discloser
) -> CaseView:
    """Everything the case page shows; nothing outside ``grants`` (an empty view instead).

    ``grants`` are the session's readable grants *of this case* (the caller narrows them on
    chain), so the studies listed are this case's. Every record shown is accounted in the
    disclosure log (``disclose``), and the study list as a search per study record.
    """
    found = [
        _record(cases, grants, info, disclose)
        for info in records.list_case(cases=cases, grants=grants, case=case)
    ]
    studies: dict[str, tuple[set[str], set[str], Counter[str]]] = {}
    try:
        headers = cases.list_instances(grants=grants) if grants else []
    except GatewayError:
        headers = []
    drawn: Counter[tuple[GrantId, RecordId | None]] = Counter(
        (h.grant_id, h.record_id) for h in headers
    )
    for (grant, record), n in sorted(drawn.items(), key=lambda kv: (kv[0][0], kv[0][1] or b"")):
        disclose.record(kind=Kind.SEARCH, grant=grant, record=record, size=n)
    for h in headers:
        series, modalities, count = studies.setdefault(str(h.study_uid), (set(), set(), Counter()))
        series.add(str(h.series_uid))
        modalities.add(str(h.dataset.get("Modality", "")))
        count[str(h.series_uid)] += 1
    return CaseView(
        case="0x" + bytes(case).hex(),
        records=found,
        studies=[
            CaseStudy(uid, "/".join(sorted(m - {""})), len(s), sum(c.values()))
            for uid, (s, m, c) in sorted(studies.items())
        ],
    )
