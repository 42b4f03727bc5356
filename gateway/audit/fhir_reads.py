"""The reads of a trace (the gateway's disclosure log) as FHIR R4 ``AuditEvent`` resources.

One per entry: DICOM "110103 DICOM Instances Accessed" for an instance, frame, image, bulk
data or header, "110106 Export" for a push, "110110 Patient Record" for a record; action
R (read). Entities are ids only, as in the log: grant, record, the hashed instance
reference and the entry's chain hash (so the bundle can be matched to the verified log).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from gateway.audit.disclosure_model import DisclosureRead

SYSTEM = "urn:medledger"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
NAMESPACE = uuid.UUID("0c5f3c1e-93c4-4c55-a7a4-5a3f0f7e2d61")
_TYPES = {
    "record": ("110110", "Patient Record"),
    "push": ("110106", "Export"),
}
_INSTANCE = ("110103", "DICOM Instances Accessed")


def _ident(system: str, value: str) -> dict[str, Any]:
    return {"identifier": {"system": f"{SYSTEM}:{system}", "value": value}}


def read_event(read: DisclosureRead) -> dict[str, Any]:
    """One read as an ``AuditEvent`` (JSON data)."""
    code, display = _TYPES.get(read.kind, _INSTANCE)
    entities = [
        {"what": _ident("grant", "0x" + read.grant), "name": "grant"},
        {"what": _ident("disclosure-entry", read.hash), "name": f"entry {read.seq}"},
    ]
    if read.record:
        entities.append({"what": _ident("record", "0x" + read.record), "name": "record"})
    if read.instance:
        entities.append({"what": _ident("instance-ref", read.instance), "name": "instance"})
    recorded = datetime.fromtimestamp(read.at_ms / 1000, UTC)
    return {
        "resourceType": "AuditEvent",
        "type": {"system": DCM, "code": code, "display": display},
        "subtype": [{"system": f"{SYSTEM}:disclosure", "code": read.kind}],
        "action": "R",
        "recorded": recorded.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "outcome": "0",
        "outcomeDesc": f"{read.kind} served, {read.size} bytes",
        "agent": [{"who": _ident("chain-address", read.physician), "requestor": True}],
        "source": {"observer": {"display": "medledger gateway disclosure log"}},
        "entity": entities,
    }  # fmt: skip


def read_entries(reads: list[DisclosureRead]) -> list[dict[str, Any]]:
    """Bundle entries for ``reads`` (deterministic ids: the entry hash names each)."""
    return [{"fullUrl": f"urn:uuid:{uuid.uuid5(NAMESPACE, r.hash)}", "resource": read_event(r)}
            for r in reads]  # fmt: skip
