"""FHIR R4 clinical records and e-prescriptions: validate, find the patient, canonicalize.

Which models: ``fhir.resources`` 8.x defaults to FHIR R5 and ships ``fhir.resources.R4B``
(FHIR 4.3.0) and ``STU3``; there is no 4.0.1 package any more. R4B is the R4-compatible
release (a ballot over R4 whose changes are confined to a few medication-definition and
evidence resources); the clinical resources a hospital sends (Patient, Encounter,
Observation, Condition, DiagnosticReport, MedicationRequest, Bundle...) have the same JSON
in R4 and R4B, so R4 documents validate against R4B models. ``fhir.resources`` does not check
required value-set bindings, so the two a prescription cannot do without (``status`` and
``intent`` of ``MedicationRequest``) and the ``status``/``gender`` codes of the common clinical
resources (:data:`REQUIRED_CODES`) are checked here.

What leaves the node: the payload is encrypted *as the hospital wrote it* (canonicalized, not
pseudonymized), because the physician a case is referred to must know who the patient is;
encryption and grants protect it. Everything that leaves unencrypted (anchor entry, chain,
manifests) carries only the consortium pseudonym, and nothing here logs the payload, the
patient id or validation input values (error messages quote field paths, never values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from common.errors import redact
from contracts.typing import RecordKind
from node.exceptions import InvalidFhir, PatientUnresolved, UnsupportedFhirResource
from node.formats.fhir_json import MAX_FHIR_BYTES, canonical_bytes, load_strict_json
from node.formats.fhir_patient import record_patient_id

FHIR_VERSION = "4.3.0 (R4B models, R4-compatible)"
MEDICATION_REQUEST_STATUS = frozenset(
    {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
     "unknown"}
)  # fmt: skip
MEDICATION_REQUEST_INTENT = frozenset(
    {"proposal", "plan", "order", "original-order", "reflex-order", "filler-order",
     "instance-order", "option"}
)  # fmt: skip
_EVENT_STATUS = frozenset(
    {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
     "entered-in-error", "unknown"}
)  # fmt: skip
#: Codes with a *required* binding in FHIR R4 that ``fhir.resources`` leaves unchecked:
#: (resourceType, element) -> the value set. A record with ``Observation.status: "bogus"``
#: would otherwise be anchored and shared as if it were final.
REQUIRED_CODES: dict[tuple[str, str], frozenset[str]] = {
    ("MedicationRequest", "status"): MEDICATION_REQUEST_STATUS,
    ("MedicationRequest", "intent"): MEDICATION_REQUEST_INTENT,
    ("Observation", "status"): frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
         "entered-in-error", "unknown"}
    ),
    ("DiagnosticReport", "status"): frozenset(
        {"registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
         "cancelled", "entered-in-error", "unknown"}
    ),
    ("Encounter", "status"): frozenset(
        {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
         "entered-in-error", "unknown"}
    ),
    ("Procedure", "status"): _EVENT_STATUS,
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
}  # fmt: skip
#: Elements of :data:`REQUIRED_CODES` that must be present (cardinality 1..1).
MANDATORY = frozenset(
    {("MedicationRequest", "status"), ("MedicationRequest", "intent"),
     ("Observation", "status"), ("DiagnosticReport", "status"), ("Encounter", "status"),
     ("Procedure", "status")}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FhirPayload:
    """A validated FHIR payload ready for ingest."""

    resource_type: str
    kind: RecordKind
    canonical: bytes = field(repr=False)
    patient_id: str = field(repr=False)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(resource)"
        # A model's own validator may quote the value it refused: never echo it.
        msg = redact(err["msg"].splitlines()[0], [err.get("input"), err.get("ctx")])
        parts.append(f"{loc}: {msg}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _model(doc: dict[str, Any], where: str) -> tuple[str, Any]:
    rtype = doc.get("resourceType")
    if not isinstance(rtype, str):
        raise InvalidFhir(f"{where}: resourceType is missing")
    try:
        return rtype, get_fhir_model_class(rtype)
    except ValueError:
        raise UnsupportedFhirResource(f"{where}: unknown FHIR resourceType") from None


def _entries(doc: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, e["resource"]) for i, e in enumerate(doc.get("entry") or [])
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)]  # fmt: skip


def _validate(doc: dict[str, Any], where: str) -> None:
    """Validate with the resource's model, then the rules ``fhir.resources`` leaves out.

    A Bundle's model validates its entries' resources too, so a Bundle is validated once
    (the cheapest correct call); only when it fails are the entries validated one by one,
    so the message names the failing entry.
    """
    rtype, model = _model(doc, where)
    try:
        model.model_validate(doc)
    except ValidationError as exc:
        if rtype == "Bundle":
            for i, resource in _entries(doc):
                _validate(resource, f"entry[{i}]")
        raise InvalidFhir(f"{where} ({rtype}) is not valid FHIR R4: {_describe(exc)}") from None
    except (KeyError, TypeError, AttributeError):
        if rtype == "Bundle":
            for i, resource in _entries(doc):
                _validate(resource, f"entry[{i}]")
        raise InvalidFhir(f"{where} ({rtype}) has a malformed structure") from None
    _check_rules(doc, where)


def _check_rules(doc: dict[str, Any], where: str) -> None:
    """What the models do not check: required value sets (and the same for every entry)."""
    rtype, _ = _model(doc, where)
    if rtype == "Bundle":
        for i, resource in _entries(doc):
            _check_rules(resource, f"entry[{i}]")
    for (owner, element), codes in REQUIRED_CODES.items():
        if owner != rtype:
            continue
        if element not in doc:
            if (owner, element) in MANDATORY:
                raise InvalidFhir(f"{where}: {owner}.{element} is required")
        elif not (isinstance(doc[element], str) and doc[element] in codes):
            raise InvalidFhir(f"{where}: {owner}.{element} is not in its required value set")


def _kind(doc: dict[str, Any]) -> RecordKind:
    if doc["resourceType"] == "MedicationRequest":
        return RecordKind.PRESCRIPTION
    if doc["resourceType"] == "Bundle":
        types = {
            e["resource"]["resourceType"]
            for e in doc.get("entry") or []
            if isinstance(e.get("resource"), dict)
        }
        if "MedicationRequest" in types and types <= {"MedicationRequest", "Patient", "Medication"}:
            return RecordKind.PRESCRIPTION
    return RecordKind.RECORD


def parse_fhir(
    raw: bytes, *, patient_id: str | None = None, max_bytes: int = MAX_FHIR_BYTES
) -> FhirPayload:
    """Validate a FHIR R4 JSON resource or Bundle and prepare it for ingest.

    Parameters
    ----------
    raw
        The JSON bytes as received.
    patient_id
        The local patient id, when the caller knows it; if the record names a patient too,
        both must agree. Required when the record names none.
    max_bytes
        Size limit, checked before parsing.

    Returns
    -------
    FhirPayload
        Canonical bytes (RFC 8785), kind (a ``MedicationRequest``, or a Bundle of them, is a
        prescription) and the local patient id.

    Raises
    ------
    PayloadTooLarge, InvalidFhir, UnsupportedFhirResource, PatientUnresolved
        With a message that names the failing field, never a value.
    """
    doc = load_strict_json(raw, max_bytes=max_bytes)
    if not isinstance(doc, dict):
        raise InvalidFhir("a FHIR resource is a JSON object")
    _validate(doc, "resource")
    named = record_patient_id(doc)
    if named is None and patient_id is None:
        raise PatientUnresolved("the record names no Patient; give the local patient id")
    if named is not None and patient_id is not None and named != patient_id:
        raise PatientUnresolved("the record names a different patient than the one given")
    return FhirPayload(
        resource_type=doc["resourceType"],
        kind=_kind(doc),
        canonical=canonical_bytes(doc),
        patient_id=named if named is not None else str(patient_id),
    )
