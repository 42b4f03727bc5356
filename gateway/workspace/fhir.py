"""FHIR R4 resources as a physician reads them: one title and a few "label: value" lines.

Only what a case timeline needs (observations, conditions, prescriptions, reports); any
other resource shows its type and id. The patient's identifiers are never shown: the
workspace names the case, not the person (the lower tier's own record system does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Readable:
    """A record in words: its family (for the badge colour), a title and detail lines."""

    kind: str
    title: str
    lines: tuple[str, ...]
    when: str = ""


def _concept(value: Any) -> str:
    """A CodeableConcept's text, else its first coding's display, else ``system|code``."""
    if not isinstance(value, dict):
        return ""
    if isinstance(value.get("text"), str):
        return str(value["text"])
    for coding in value.get("coding") or []:
        if isinstance(coding, dict):
            if isinstance(coding.get("display"), str):
                return str(coding["display"])
            if coding.get("code") is not None:
                system = str(coding.get("system", "")).rsplit("/", 1)[-1]
                return f"{system} {coding['code']}".strip()
    return ""


def _quantity(value: Any) -> str:
    if not isinstance(value, dict) or "value" not in value:
        return ""
    unit = value.get("unit") or value.get("code") or ""
    return f"{value['value']} {unit}".strip()


def _observation(r: dict[str, Any]) -> Readable:
    value = (
        _quantity(r.get("valueQuantity"))
        or _concept(r.get("valueCodeableConcept"))
        or str(r.get("valueString", ""))
    )
    lines = [f"Value: {value}"] if value else []
    lines += [f"Status: {r['status']}"] if r.get("status") else []
    lines += [f"Interpretation: {_concept(i)}" for i in r.get("interpretation") or []]
    return Readable("Observation", _concept(r.get("code")) or "Observation", tuple(lines),
                    str(r.get("effectiveDateTime", "")))  # fmt: skip


def _condition(r: dict[str, Any]) -> Readable:
    lines = [f"Clinical status: {_concept(r.get('clinicalStatus'))}"]
    if r.get("severity"):
        lines.append(f"Severity: {_concept(r['severity'])}")
    lines += [f"Note: {n['text']}" for n in r.get("note") or [] if isinstance(n, dict)
              and isinstance(n.get("text"), str)]  # fmt: skip
    return Readable("Condition", _concept(r.get("code")) or "Condition", tuple(lines),
                    str(r.get("onsetDateTime", "")))  # fmt: skip


def _dose(d: dict[str, Any]) -> str:
    parts = [str(d["text"])] if isinstance(d.get("text"), str) else []
    for rate in d.get("doseAndRate") or []:
        if isinstance(rate, dict) and rate.get("doseQuantity"):
            parts.append(_quantity(rate["doseQuantity"]))
    return ", ".join(p for p in parts if p)


def _prescription(r: dict[str, Any]) -> Readable:
    lines = [f"Dosage: {text}" for d in r.get("dosageInstruction") or []
             if isinstance(d, dict) and (text := _dose(d))]  # fmt: skip
    lines += [f"Status: {r['status']}"] if r.get("status") else []
    title = _concept(r.get("medicationCodeableConcept")) or "Prescription"
    return Readable("Prescription", title, tuple(lines), str(r.get("authoredOn", "")))


def _report(r: dict[str, Any]) -> Readable:
    lines = [f"Conclusion: {r['conclusion']}"] if isinstance(r.get("conclusion"), str) else []
    lines += [f"Status: {r['status']}"] if r.get("status") else []
    return Readable("Report", _concept(r.get("code")) or "Report", tuple(lines),
                    str(r.get("effectiveDateTime", r.get("issued", ""))))  # fmt: skip


_BY_TYPE: dict[str, Callable[[dict[str, Any]], Readable]] = {
    "Observation": _observation,
    "Condition": _condition,
    "MedicationRequest": _prescription,
    "DiagnosticReport": _report,
}


def readable(resource: Any) -> Readable:
    """``resource`` (parsed FHIR JSON) in words; never raises on odd or partial resources."""
    if not isinstance(resource, dict):
        return Readable("Other", "Unreadable record", ("not a FHIR resource",))
    kind = str(resource.get("resourceType", ""))
    render = _BY_TYPE.get(kind)
    if render is None:
        return Readable("Other", kind or "Record", ())
    try:
        return render(resource)
    except (TypeError, KeyError, AttributeError):
        return Readable(kind, kind, ("(some fields could not be read)",))
