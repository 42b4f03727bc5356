"""ORU^R01 → FHIR: each OBR a ``DiagnosticReport``, each OBX under it an ``Observation``.

OBX-2 (value type) decides the value: ``NM`` and ``SN`` a ``valueQuantity`` (OBX-6 the
unit), ``ST``/``TX``/``FT`` a ``valueString``, ``CE``/``CWE`` a ``valueCodeableConcept``.
Result status codes (HL7 table 0085 for OBX-11, 0123 for OBR-25) map onto FHIR's required
value sets.
"""

from __future__ import annotations

import re
from typing import Any

import hl7

from node.hl7.errors import DATA_TYPE_ERROR, REQUIRED_MISSING, TABLE_VALUE_NOT_FOUND, Hl7Error
from node.hl7.fields import SYSTEMS, Seg, codeable, fhir_datetime, table

OBX_STATUS = {"F": "final", "P": "preliminary", "C": "corrected", "X": "cancelled",
              "W": "entered-in-error", "R": "registered", "I": "registered", "S": "preliminary",
              "D": "entered-in-error", "U": "final", "N": "unknown", "A": "amended"}  # fmt: skip
OBR_STATUS = {"F": "final", "P": "preliminary", "C": "corrected", "X": "cancelled",
              "R": "registered", "I": "registered", "S": "partial", "O": "registered",
              "A": "partial", "Y": "unknown", "Z": "unknown"}  # fmt: skip
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def _quantity(obx: Seg) -> dict[str, Any]:
    text = obx.need(5)
    if not _NUMBER.fullmatch(text) or len(text) > 20:
        raise obx.error("OBX-2 is NM but the value is not a number", DATA_TYPE_ERROR, 5)
    value: int | float = float(text) if "." in text else int(text)
    return {"value": value} | _unit(obx)


def _structured(obx: Seg) -> dict[str, Any]:
    """SN (structured numeric): ``comparator^number`` as a Quantity; ranges and ratios refused."""
    comparator, number, separator = obx.get(5, 1), obx.get(5, 2), obx.get(5, 3)
    if separator or not _NUMBER.fullmatch(number) or len(number) > 20:
        raise obx.error("OBX-2 is SN but the value is not comparator^number", DATA_TYPE_ERROR, 5)
    if comparator not in ("", "<", "<=", ">", ">="):
        raise obx.error("SN comparator not supported", TABLE_VALUE_NOT_FOUND, 5, 1)
    quantity: dict[str, Any] = {"value": float(number) if "." in number else int(number)}
    if comparator:
        quantity["comparator"] = comparator
    return quantity | _unit(obx)


def _unit(obx: Seg) -> dict[str, Any]:
    unit, system = obx.get(6, 1), obx.get(6, 3)
    if not unit:
        return {}
    out: dict[str, Any] = {"unit": obx.get(6, 2) or unit}
    if system.upper() == "UCUM":
        out.update(system=SYSTEMS["UCUM"], code=unit)
    return out


def _value(obx: Seg) -> dict[str, Any]:
    kind = obx.get(2).upper()
    if not obx.raw(5).strip("^"):
        return {}
    if kind == "NM":
        return {"valueQuantity": _quantity(obx)}
    if kind == "SN":
        return {"valueQuantity": _structured(obx)}
    if kind in ("ST", "TX", "FT"):
        return {"valueString": obx.get(5)}
    if kind in ("CE", "CWE"):
        return {"valueCodeableConcept": codeable(obx, 5)}
    raise obx.error("value type not supported (NM, SN, ST, TX, FT, CE, CWE)", TABLE_VALUE_NOT_FOUND,
                    2)  # fmt: skip


def observation(obx: Seg, subject: str, effective: str | None) -> dict[str, Any]:
    """One OBX as an Observation about ``subject`` (a reference string)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": table(obx, 11, OBX_STATUS),
        "code": codeable(obx, 3),
        "subject": {"reference": subject},
    }
    if (when := fhir_datetime(obx, 14) or effective) is not None:
        resource["effectiveDateTime"] = when
    resource.update(_value(obx))
    if obx.get(8):
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION,
                                                   "code": obx.get(8).upper()}]}]  # fmt: skip
    if obx.get(7):
        resource["referenceRange"] = [{"text": obx.get(7)}]
    return resource


def report(obr: Seg, subject: str, results: list[str]) -> dict[str, Any]:
    """One OBR as a DiagnosticReport whose ``result`` references its Observations."""
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": table(obr, 25, OBR_STATUS, default="final"),
        "code": codeable(obr, 4),
        "subject": {"reference": subject},
        "result": [{"reference": r} for r in results],
    }
    if (when := fhir_datetime(obr, 7)) is not None:
        resource["effectiveDateTime"] = when
    if filler := obr.get(3) or obr.get(2):
        resource["identifier"] = [{"value": filler}]
    return resource


def groups(message: hl7.Message) -> list[tuple[Seg, list[Seg]]]:
    """Each OBR with the OBX segments that follow it (in message order)."""
    out: list[tuple[Seg, list[Seg]]] = []
    counts: dict[str, int] = {}
    for segment in message:
        name = str(segment[0])
        counts[name] = counts.get(name, 0) + 1
        if name == "OBR":
            out.append((Seg(message, "OBR", counts[name]), []))
        elif name == "OBX":
            if not out:
                raise Hl7Error("OBX before any OBR", code="100", ack="AE")
            out[-1][1].append(Seg(message, "OBX", counts[name]))
    if not out:
        raise Seg(message, "OBR").error("required segment missing", REQUIRED_MISSING, 0)
    return out
