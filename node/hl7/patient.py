"""PID → FHIR ``Patient``: identifiers (PID-3), name (PID-5), birth date (PID-7), sex (PID-8).

The patient's FHIR id is not taken from the message: PID-3's first identifier is looked up
in the facade's identifier index (a keyed hash, see :mod:`node.fhir_rest.writer`), so a
patient first seen over FHIR and later over HL7 (or the reverse) stays one Patient with
one pseudonym.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import hl7

from node.hl7.errors import REQUIRED_MISSING
from node.hl7.fields import Seg, fhir_date, table

GENDER = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other",
          "N": "unknown"}  # fmt: skip
#: The identifier system of PID-3 when it names an assigning authority (CX.4).
AUTHORITY_SYSTEM = "urn:hl7-v2:assigning-authority:"


def has(message: hl7.Message, name: str) -> bool:
    """Whether the message has a segment ``name``."""
    try:
        return bool(message.segments(name))
    except KeyError:
        return False


def pid_segment(message: hl7.Message) -> Seg:
    """The PID segment (refused naming PID when the message has none)."""
    if not has(message, "PID"):
        raise Seg(message, "PID").error("required segment missing", REQUIRED_MISSING, 0)
    return Seg(message, "PID")


def identifiers(pid: Seg) -> list[tuple[str, str]]:
    """``(system, value)`` of each PID-3 repetition (CX.1 with CX.4 as the system)."""
    found = []
    for rep in range(1, max(pid.repeats(3), 1) + 1):
        value = pid.get(3, 1, repeat=rep)
        if value:
            authority = pid.get(3, 4, repeat=rep)
            system = AUTHORITY_SYSTEM + quote(authority, safe="") if authority else ""
            found.append((system, value))
    if not found:
        raise pid.error("required field is empty (patient identifier list)", REQUIRED_MISSING, 3)
    return found


def patient_resource(pid: Seg) -> dict[str, Any]:
    """The Patient a PID describes (without id: the writer assigns or finds it)."""
    resource: dict[str, Any] = {"resourceType": "Patient"}
    resource["identifier"] = [
        {"system": s, "value": v} if s else {"value": v} for s, v in identifiers(pid)
    ]
    family, given = pid.get(5, 1), [g for g in (pid.get(5, 2), pid.get(5, 3)) if g]
    if family or given:
        name: dict[str, Any] = {}
        if family:
            name["family"] = family
        if given:
            name["given"] = given
        resource["name"] = [name]
    if (birth := fhir_date(pid, 7)) is not None:
        resource["birthDate"] = birth
    if pid.get(8):
        resource["gender"] = table(pid, 8, GENDER)
    return resource
