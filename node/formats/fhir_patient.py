"""Which patient a FHIR record is about, read from the validated JSON.

The local patient id is the FHIR logical id of the ``Patient`` the record names: the id of a
``Patient`` resource in the payload, or the target of a ``subject``/``patient`` reference of a
top-level resource or Bundle entry (``Patient/<id>``, an absolute URL ending in it, or a
``urn:uuid:`` resolved through the entries' ``fullUrl``). A record must name exactly one
patient: a Bundle mixing patients is refused, because one record has one pseudonym.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from node.exceptions import PatientUnresolved

_REFERENCE_FIELDS = ("subject", "patient")


def _resources(doc: dict[str, Any]) -> Iterable[tuple[str | None, dict[str, Any]]]:
    if doc.get("resourceType") == "Bundle":
        for entry in doc.get("entry") or []:
            if isinstance(entry.get("resource"), dict):
                yield entry.get("fullUrl"), entry["resource"]
    else:
        yield None, doc


def _target(reference: str, urls: dict[str, str]) -> str | None:
    if reference in urls:
        return urls[reference]
    parts = reference.split("/")
    if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1]:
        return parts[-1]
    if len(parts) >= 4 and parts[-4] == "Patient" and parts[-2] == "_history":
        return parts[-3]
    return None


def record_patient_id(doc: dict[str, Any]) -> str | None:
    """The one local patient id the record names, or ``None`` if it names none.

    Raises
    ------
    PatientUnresolved
        If the record names more than one patient (ids are not quoted in the message).
    """
    resources = list(_resources(doc))
    urls = {
        url: res["id"]
        for url, res in resources
        if url and res.get("resourceType") == "Patient" and isinstance(res.get("id"), str)
    }
    found: set[str] = set()
    for _, res in resources:
        if res.get("resourceType") == "Patient" and isinstance(res.get("id"), str):
            found.add(res["id"])
        for field in _REFERENCE_FIELDS:
            ref = res.get(field)
            if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
                target = _target(ref["reference"], urls)
                if target is not None:
                    found.add(target)
    if len(found) > 1:
        raise PatientUnresolved(f"the record names {len(found)} different patients; send one each")
    return found.pop() if found else None
