"""Pushing a granted study or record bundle to one of the hospital's own systems.

Everything pushed is read through the case store under the session's *readable* grants
(live, not revoked, not expired), so it is verified exactly as a read is and a push without
a live grant finds nothing (404, as a read). Each push is accounted like a read: its route
appears in the (PHI-free) access log, and one log line names the destination, how much
went out and the outcome, never a UID, a name or an identifier.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import TypeVar

from gateway.abc import CaseStoreAPI
from gateway.destinations import DicomDestination, FhirDestination
from gateway.disclosure.entry import Kind
from gateway.disclosure.recorder import Discloser
from gateway.domain import InstanceHeader
from gateway.exceptions import NotFound
from gateway.outbound import dicom, fhir
from gateway.outbound.exceptions import DestinationFailed, UnknownDestination
from gateway.typing import DicomUID
from keys.typing import CaseId, GrantId

log = logging.getLogger(__name__)
_D = TypeVar("_D", DicomDestination, FhirDestination)


def _named(destinations: Mapping[str, _D], name: str) -> _D:
    if name not in destinations:
        raise UnknownDestination(f"no destination named {name!r} is configured")
    return destinations[name]


def push_study(*, cases: CaseStoreAPI, grants: Collection[GrantId], study: DicomUID,
               name: str, destinations: Mapping[str, DicomDestination],
               calling_ae: str, disclose: Discloser) -> dicom.StoreResult:  # fmt: skip
    """C-STORE every instance of ``study`` the session may read to destination ``name``."""
    destination = _named(destinations, name)
    instances = list(cases.list_instances(grants=grants, study=study))
    if not instances:
        raise NotFound("no such study under this session's grants")

    def read(header: InstanceHeader) -> bytes:
        stream = cases.open_instance(grants=grants, study=header.study_uid,
                                     series=header.series_uid, sop=header.sop_uid)  # fmt: skip
        with stream:
            data = stream.read()
        disclose.record(kind=Kind.PUSH, grant=header.grant_id, record=header.record_id,
                        sop_uid=header.sop_uid, size=len(data))  # fmt: skip
        return data

    try:
        result = dicom.store(name=name, destination=destination, calling_ae=calling_ae,
                             instances=instances, read=read)  # fmt: skip
    except DestinationFailed:
        log.warning("outbound C-STORE to %r failed (%d instances asked)", name, len(instances))
        raise
    log.info("outbound C-STORE to %r: %d instances, %d bytes", name, result.sent,
             result.bytes_sent)  # fmt: skip
    return result


def push_records(*, cases: CaseStoreAPI, grants: Collection[GrantId], case: CaseId,
                 name: str, destinations: Mapping[str, FhirDestination], disclose: Discloser,
                 ) -> fhir.BundleResult:  # fmt: skip
    """POST the case's FHIR records the session may read to destination ``name``."""
    destination = _named(destinations, name)
    found = [r for r in cases.list_records(grants=grants)
             if r.case_id == case and r.media_type == fhir.FHIR_JSON]  # fmt: skip
    if not found:
        raise NotFound("no FHIR records of this case under this session's grants")
    verified = []
    for record in found:
        with cases.open_record(grants=grants, record=record.record_id) as stream:
            verified.append(stream.read())
        disclose.record(kind=Kind.PUSH, grant=record.grant_id, record=record.record_id,
                        size=len(verified[-1]))  # fmt: skip
    bundle = fhir.transaction(verified)
    try:
        result = fhir.post(name=name, destination=destination, bundle=bundle)
    except DestinationFailed:
        log.warning("outbound FHIR transaction to %r failed (%d entries)", name,
                    len(bundle["entry"]))  # fmt: skip
        raise
    log.info("outbound FHIR transaction to %r: %d entries", name, result.entries)
    return result
