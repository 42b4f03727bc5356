"""A trace as FHIR R4: ``Provenance`` per anchor, ``AuditEvent`` per access-relevant event.

Models: ``fhir.resources`` 8.x ships FHIR R5 by default and R4B (4.3.0) as the R4-compatible
release (there is no 4.0.1 package any more, see :mod:`node.formats.fhir`). ``Provenance``,
``AuditEvent`` and ``Bundle`` have the same JSON in R4 and R4B for every element used here,
so the bundle validated against the R4B models is a valid R4 bundle.

What identifies what (never a patient: the chain has no patient identifier to give):

- the record by its chain id (``urn:medledger:record``), a batch by its Merkle root;
- hospitals, physicians and operators by chain address (``urn:medledger:chain-address``),
  the anchor transaction by hash (``urn:medledger:tx``), grants, referrals and cases by
  their chain ids;
- ``recorded`` is the block time, the only clock an auditor can check.
"""

from __future__ import annotations

import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from gateway.audit.fhir_reads import read_entries
from gateway.audit.model import Trace, TraceEvent

SYSTEM = "urn:medledger"
ADDRESS = f"{SYSTEM}:chain-address"
TX = f"{SYSTEM}:tx"
EVENT_CODES = f"{SYSTEM}:chain-event"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PROVENANCE_ACTIVITY = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
AGENT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
#: Namespace of the deterministic entry ids (same trace, same bundle, byte for byte).
NAMESPACE = uuid.UUID("9b0f8a40-6e6c-4d0e-9a53-1d9e3c2f7a10")

#: AuditEvent action per event: C create, U update, E execute (RESTful-free audit codes).
ACTIONS = {
    "ReferralInitiated": "C", "ReferralAccepted": "U", "ReferralDeclined": "U",
    "ReferralCompleted": "U", "ReferralCancelled": "U", "ReferredBack": "C",
    "GrantIssued": "C", "AccessRedeemed": "E", "GrantRevoked": "U", "BreakGlassAccess": "E",
    "BreakGlassReviewed": "U",
}  # fmt: skip
ANCHORS = ("RecordAnchored", "BatchAnchored")


def _ident(system: str, value: object) -> dict[str, Any]:
    return {"identifier": {"system": system, "value": str(value)}}


def _address(value: object, display: str | None = None) -> dict[str, Any]:
    ref = _ident(ADDRESS, value)
    if display:
        ref["display"] = display
    return ref


def _instant(event: TraceEvent) -> str:
    return event.time.strftime("%Y-%m-%dT%H:%M:%SZ")


def _provenance(event: TraceEvent, parties: dict[str, str]) -> dict[str, Any]:
    if event.kind == "RecordAnchored":
        target = _ident(f"{SYSTEM}:record", event.args["recordId"])
        previous = event.args["previousVersion"]
        activity = "UPDATE" if int(str(previous), 16) else "CREATE"
        hospital = event.args["hospital"]
    else:
        target = _ident(f"{SYSTEM}:batch-root", event.args["root"])
        activity, hospital = "CREATE", event.args["hospital"]
    return {
        "resourceType": "Provenance",
        "target": [target],
        "recorded": _instant(event),
        "activity": {"coding": [{"system": PROVENANCE_ACTIVITY, "code": activity}]},
        "agent": [
            {
                "type": {"coding": [{"system": AGENT_TYPE, "code": "custodian"}]},
                "who": _address(hospital, parties.get(str(hospital), "anchoring hospital")),
            }
        ],
        "entity": [
            {"role": "source", "what": {**_ident(TX, event.tx), "display": f"block {event.block}"}}
        ],
    }


def _agents(event: TraceEvent, parties: dict[str, str]) -> list[dict[str, Any]]:
    sender = parties.get(event.actor, "transaction sender")
    agents = [{"who": _address(event.actor, sender), "requestor": True}]
    physician = event.args.get("physician")
    if physician and physician != event.actor and int(str(physician), 16):
        who = parties.get(str(physician), "physician")
        agents.append({"who": _address(physician, who), "requestor": False})
    return agents


def _entities(event: TraceEvent) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = [{"what": _ident(TX, event.tx), "name": "transaction"}]
    for arg, system in (("grantId", "grant"), ("referralId", "referral"), ("caseId", "case")):
        if arg in event.args:
            entities.append({"what": _ident(f"{SYSTEM}:{system}", event.args[arg]), "name": system})
    return entities


def _audit_event(event: TraceEvent, parties: dict[str, str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": {"system": DCM, "code": "110110", "display": "Patient Record"},
        "subtype": [{"system": EVENT_CODES, "code": event.kind}],
        "action": ACTIONS[event.kind],
        "recorded": _instant(event),
        "outcome": "0",
        "outcomeDesc": event.summary,
        "agent": _agents(event, parties),
        "source": {"observer": _address(event.address, f"{event.contract} contract")},
        "entity": _entities(event),
    }
    if event.kind == "BreakGlassAccess" or event.args.get("breakGlass") is True:
        # Emergency access: v3 ActReason ETREAT; the contract's reason code rides along.
        resource["purposeOfEvent"] = [{"coding": [{"system": ACT_REASON, "code": "ETREAT"}]}]
    return resource


def to_bundle(trace: Trace) -> dict[str, Any]:
    """The trace as a FHIR R4 ``Bundle`` (type ``collection``), validated, as JSON data.

    Raises
    ------
    pydantic.ValidationError
        Never for a trace built by :mod:`gateway.audit.tracer`; the validation is the proof.
    """
    entries = []
    for event in trace.events:
        if event.kind in ANCHORS:
            resource = _provenance(event, trace.parties)
        elif event.kind in ACTIONS:
            resource = _audit_event(event, trace.parties)
        else:
            continue
        ident = uuid.uuid5(NAMESPACE, f"{event.tx}:{event.log_index}")
        entries.append({"fullUrl": f"urn:uuid:{ident}", "resource": resource})
    entries += read_entries(trace.reads or [])
    doc = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _bundle_time(trace),
        "entry": entries,
    }
    Bundle.model_validate(doc)
    return doc


def _bundle_time(trace: Trace) -> str:
    if trace.events:
        return _instant(trace.events[-1])
    return "1970-01-01T00:00:00Z"
