"""FHIR R4 export of traces: validated by ``fhir.resources`` (R4B models), ids never a patient's."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from gateway.audit.fhir_export import to_bundle
from gateway.audit.trail import ChainAuditTrail
from tests.gateway.audit.story import Story


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _identifiers(node: object) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if "system" in node and "value" in node:
            found.append(node)
        for value in node.values():
            found += _identifiers(value)
    elif isinstance(node, list):
        for value in node:
            found += _identifiers(value)
    return found


def test_case_bundle_has_provenance_per_anchor_and_audit_event_per_access(
    story: Story, trail: ChainAuditTrail
) -> None:
    trace = trail.trace_case(case=story.case)
    bundle = to_bundle(trace)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    Bundle.model_validate(bundle)
    provenance = _resources(bundle, "Provenance")
    events = _resources(bundle, "AuditEvent")
    assert len(provenance) == 3 and len(events) == len(story.steps) - 3
    anchors = [e for e in trace.events if e.kind == "RecordAnchored"]
    for resource, event in zip(provenance, anchors, strict=True):
        assert resource["target"][0]["identifier"]["value"] == event.args["recordId"]
        assert resource["entity"][0]["what"]["identifier"]["value"] == event.tx
        assert resource["agent"][0]["who"]["identifier"]["value"] == story.world.addr("village")
        assert resource["recorded"] == event.time.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert provenance[1]["activity"]["coding"][0]["code"] == "UPDATE"  # the second version
    assert [e["subtype"][0]["code"] for e in events] == story.kinds()[3:]
    glass = [e for e in events if "purposeOfEvent" in e]
    assert [e["subtype"][0]["code"] for e in glass] == ["BreakGlassAccess", "AccessRedeemed"]


def test_every_identifier_is_a_chain_identifier(story: Story, trail: ChainAuditTrail) -> None:
    bundle = to_bundle(trail.trace_case(case=story.case))
    systems = {i["system"] for i in _identifiers(bundle)}
    assert systems == {
        "urn:medledger:record", "urn:medledger:tx", "urn:medledger:chain-address",
        "urn:medledger:grant", "urn:medledger:referral", "urn:medledger:case",
    }  # fmt: skip


def test_validation_catches_a_broken_resource(story: Story, trail: ChainAuditTrail) -> None:
    """The validation is real: a bundle with a resource missing a required element fails."""
    bundle = copy.deepcopy(to_bundle(trail.trace_grant(grant=story.grant)))
    broken = _resources(bundle, "AuditEvent")[0]
    del broken["source"]
    with pytest.raises(ValidationError):
        Bundle.model_validate(bundle)


def test_batched_record_bundle_names_the_batch_root(story: Story, trail: ChainAuditTrail) -> None:
    trace = trail.trace_record(record=story.batch_proof.record_id, proof=story.batch_proof)
    (provenance,) = _resources(to_bundle(trace), "Provenance")
    target = provenance["target"][0]["identifier"]
    assert target == {"system": "urn:medledger:batch-root", "value": trace.proof.root}  # type: ignore[union-attr]


def test_referral_transitions_export_as_audit_events(story: Story, trail: ChainAuditTrail) -> None:
    bundle = to_bundle(trail.trace_case(case=story.referral_case))
    Bundle.model_validate(bundle)
    events = _resources(bundle, "AuditEvent")
    assert [(e["subtype"][0]["code"], e["action"]) for e in events] == [
        ("ReferralInitiated", "C"), ("ReferralDeclined", "U"), ("ReferralInitiated", "C"),
        ("ReferralCancelled", "U"), ("ReferralInitiated", "C"), ("ReferralAccepted", "U"),
        ("ReferralCompleted", "U"), ("ReferralInitiated", "C"), ("ReferredBack", "C"),
    ]  # fmt: skip
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(events)  # one id per log
