"""PV1 of an ADT^A01 (admit) or A04 (register) → FHIR ``Encounter``.

PV1-2 (patient class, HL7 table 0004) gives ``Encounter.class`` (v3 ActCode), PV1-19 the
visit number, PV1-44 the admit time; A01 is an admission in progress, A04 an arrival. An A08
updates the patient only. Without PV1 no Encounter is made.
"""

from __future__ import annotations

from typing import Any

import hl7

from node.hl7.fields import Seg, fhir_datetime, table
from node.hl7.patient import has

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PATIENT_CLASS = {"E": "EMER", "I": "IMP", "O": "AMB", "P": "PRENC", "R": "AMB", "B": "IMP",
                 "C": "AMB"}  # fmt: skip
STATUS = {"A01": "in-progress", "A04": "arrived"}


def encounter(message: hl7.Message, event: str, subject: str) -> dict[str, Any] | None:
    """The Encounter of an A01/A04 with a PV1, about ``subject``; ``None`` otherwise."""
    if event not in STATUS or not has(message, "PV1"):
        return None
    pv1 = Seg(message, "PV1")
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": STATUS[event],
        "class": {"system": ACT_CODE, "code": table(pv1, 2, PATIENT_CLASS)},
        "subject": {"reference": subject},
    }
    if visit := pv1.get(19):
        resource["identifier"] = [{"type": {"text": "visit number"}, "value": visit}]
    if (start := fhir_datetime(pv1, 44)) is not None:
        resource["period"] = {"start": start}
    return resource
