"""A granted case for the workspace on a ``cases_world``: FHIR records batched, a study.

Shared by ``test_workspace_chromium.py`` and ``bench/workspace.py``. The village ingests the
records (anchored in Merkle batches by the node's own drain) and a DICOM study (anchored
alone), refers the case to the county and grants it; the village node delivers the grant
to the county node, whose follower replicates the package. Everything is the shipped code.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.formats.dicom import read_study
from node.ingest.study import ingest_dicom_study
from tests.integration.cases_world import World, anchor_record
from tests.integration.gateway_flow import anchored_in_batches

#: A synthetic patient; the pages must never show the identifier.
SUBJECT = {"reference": "Patient/p-123",
           "identifier": {"system": "urn:hospital:mrn", "value": "MRN-0001"}}  # fmt: skip

#: One record of each family the case page renders (made-up values).
RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "Observation", "status": "final",
     "code": {"coding": [{"system": "http://loinc.org", "code": "718-7",
                          "display": "Hemoglobin"}]},
     "valueQuantity": {"value": 13.7, "unit": "g/dL"},
     "effectiveDateTime": "2026-11-30T08:15:00Z"},
    {"resourceType": "Condition", "code": {"text": "Community-acquired pneumonia"},
     "clinicalStatus": {"coding": [{"code": "active"}]},
     "severity": {"text": "moderate"}, "onsetDateTime": "2026-11-28"},
    {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
     "medicationCodeableConcept": {"text": "Amoxicillin 500 mg capsule"},
     "dosageInstruction": [{"text": "1 capsule three times daily for 7 days"}],
     "authoredOn": "2026-11-30"},
    {"resourceType": "DiagnosticReport", "status": "final",
     "code": {"text": "Chest X-ray report"},
     "conclusion": "Right lower lobe consolidation."},
]  # fmt: skip


@dataclass(frozen=True)
class GrantedCase:
    case: str
    grant: int
    records: list[bytes]


def granted_case(world: World, resources: list[dict[str, Any]], study: Path | None, *,
                 max_uses: int = 2) -> GrantedCase:  # fmt: skip
    """``resources`` (FHIR, without subject) and the DICOM folder ``study`` (if any) as one
    granted case, delivered to and replicated by the county."""
    village, county = world["village"], world["county"]
    assert village.node is not None and county.follower is not None
    case = "0x" + os.urandom(32).hex()
    salt = os.urandom(4).hex()  # the same content for the same patient is one record
    raws = [json.dumps({**r, "id": f"{salt}-{i}", "subject": SUBJECT}).encode()
            for i, r in enumerate(resources)]  # fmt: skip
    records = [record for record, _ in anchored_in_batches(world, raws)]
    attached = list(records)
    if study is not None:
        receipt = ingest_dicom_study(services=village.node.ingest_services(),
                                     study=read_study(study))  # fmt: skip
        anchor_record(village, receipt, bytes.fromhex(case[2:]), world.deployment, world.rpc_url)
        attached.append(receipt.record_id)
    body = {"record_ids": [r.hex() for r in attached]}
    assert village.api("POST", f"/cases/{case}/records", json=body).status_code == 200
    referral = village.api("POST", "/referrals", json={
        "case_id": case, "to": county.address, "expires_at": int(time.time()) + 7200,
        "reason_code": 7}).json()["referral_id"]  # fmt: skip
    assert county.api("POST", f"/referrals/{referral}/accept").status_code == 200
    granted = village.api("POST", "/grants", json={
        "case_id": case, "to": county.address, "expires_at": int(time.time()) + 3600,
        "max_uses": max_uses})  # fmt: skip
    assert granted.status_code == 200 and granted.json()["delivered"] is True, granted.text
    grant = int(granted.json()["grant_id"])
    assert county.follower.poll_once().replicated == [grant]
    return GrantedCase(case, grant, records)
