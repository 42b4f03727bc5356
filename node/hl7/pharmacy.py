"""RDE^O11 (pharmacy/treatment encoded order) → FHIR ``MedicationRequest``.

ORC-1 (order control, HL7 table 0119) gives the status; RXE-2 (give code) or, without RXE,
RXO-1 (requested give code) the medication; RXE-3/RXE-5 the dose, RXE-7 the instructions,
RXR-1 the route, RXE-10/RXE-11 the amount to dispense and ORC-2/ORC-3 the placer/filler
order numbers.
"""

from __future__ import annotations

import re
from typing import Any

import hl7

from node.hl7.errors import DATA_TYPE_ERROR, REQUIRED_MISSING
from node.hl7.fields import Seg, codeable, fhir_datetime, table
from node.hl7.patient import has

ORDER_STATUS = {"NW": "active", "XO": "active", "RP": "active", "OK": "active",
                "SC": "active", "CA": "cancelled", "OC": "cancelled", "DC": "stopped",
                "OD": "stopped", "HD": "on-hold", "OH": "on-hold", "RL": "active"}  # fmt: skip
_NUMBER = re.compile(r"\d{1,9}(\.\d{1,6})?")


def _amount(seg: Seg, field: int, unit_field: int) -> dict[str, Any] | None:
    text = seg.get(field)
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        raise seg.error("not a number", DATA_TYPE_ERROR, field)
    quantity: dict[str, Any] = {"value": float(text) if "." in text else int(text)}
    if unit := seg.get(unit_field, 1):
        quantity["unit"] = seg.get(unit_field, 2) or unit
    return quantity


def _dosage(give: Seg, message: hl7.Message) -> dict[str, Any]:
    dosage: dict[str, Any] = {}
    if give.name == "RXE" and (text := give.get(7, 2) or give.get(7, 1)):
        dosage["text"] = text  # RXE-7: provider's administration instructions
    dose = _amount(give, 3, 5) if give.name == "RXE" else _amount(give, 2, 4)
    if dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    if has(message, "RXR") and (route := codeable(Seg(message, "RXR"), 1, required=False)):
        dosage["route"] = route
    return dosage


def medication_request(message: hl7.Message, subject: str) -> dict[str, Any]:
    """The MedicationRequest an RDE^O11 encodes, about ``subject``."""
    if not has(message, "ORC"):
        raise Seg(message, "ORC").error("required segment missing", REQUIRED_MISSING, 0)
    orc = Seg(message, "ORC")
    if has(message, "RXE"):
        give, medication = Seg(message, "RXE"), codeable(Seg(message, "RXE"), 2)
    elif has(message, "RXO"):
        give, medication = Seg(message, "RXO"), codeable(Seg(message, "RXO"), 1)
    else:
        raise Seg(message, "RXE").error("required segment missing (RXE or RXO)",
                                        REQUIRED_MISSING, 0)  # fmt: skip
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": table(orc, 1, ORDER_STATUS),
        "intent": "order",
        "medicationCodeableConcept": medication,
        "subject": {"reference": subject},
    }
    ids = [{"type": {"text": kind}, "value": v}
           for kind, v in (("placer", orc.get(2)), ("filler", orc.get(3))) if v]  # fmt: skip
    if ids:
        resource["identifier"] = ids
    if (authored := fhir_datetime(orc, 9)) is not None:
        resource["authoredOn"] = authored
    if dosage := _dosage(give, message):
        resource["dosageInstruction"] = [dosage]
    if give.name == "RXE" and (dispense := _amount(give, 10, 11)) is not None:
        resource["dispenseRequest"] = {"quantity": dispense}
    return resource
