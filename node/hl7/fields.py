r"""Reading HL7 v2 fields: one accessor with 1-based positions, dates, code tables.

python-hl7 answers a missing field with ``""``; these helpers make "required" explicit and
turn HL7 escape sequences back into text (``\\F\\`` is a ``|`` inside a value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import hl7

from node.hl7.errors import DATA_TYPE_ERROR, REQUIRED_MISSING, TABLE_VALUE_NOT_FOUND, field_error

# TS/DTM: YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]
_TS = re.compile(r"(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(?:\.\d{1,4})?)?([+-]\d{4})?")


@dataclass(frozen=True, slots=True)
class Seg:
    """One segment of a message: its id and 1-based sequence among segments of that id."""

    message: hl7.Message
    name: str
    sequence: int = 1

    def get(self, field: int, component: int = 1, *, repeat: int = 1) -> str:
        """The unescaped text at ``SEG-field.component`` (``""`` when absent)."""
        try:
            raw = self.message.extract_field(self.name, self.sequence, field, repeat, component)
            text = str(raw)
            return str(self.message.unescape(text)) if "\\" in text else text
        except Exception:  # python-hl7 raises several kinds on odd separators: absent
            return ""

    def raw(self, field: int) -> str:
        """The whole field as sent (all components and repetitions, escapes kept)."""
        try:
            return str(self.message.segments(self.name)[self.sequence - 1][field])
        except Exception:  # as in get(): a field python-hl7 cannot reach is absent
            return ""

    def need(self, field: int, component: int = 1) -> str:
        value = self.get(field, component)
        if not value:
            raise field_error("required field is empty", REQUIRED_MISSING, self.name, field,
                              sequence=self.sequence, component=component)  # fmt: skip
        return value

    def repeats(self, field: int) -> int:
        """How many repetitions ``SEG-field`` has (0 when empty)."""
        if not self.raw(field):
            return 0
        value = self.message.segments(self.name)[self.sequence - 1][field]
        return len(value) if isinstance(value, hl7.Field) and value.separator == "~" else 1

    def error(self, text: str, code: str, field: int, component: int = 0) -> Exception:
        return field_error(text, code, self.name, field, sequence=self.sequence,
                           component=component)  # fmt: skip


def fhir_datetime(seg: Seg, field: int, component: int = 1) -> str | None:
    """An HL7 TS/DTM as a FHIR ``dateTime`` (``None`` when empty).

    FHIR requires a time zone whenever a time is given; an HL7 timestamp without an offset
    keeps its date only, rather than inventing a zone.
    """
    text = seg.get(field, component)
    if not text:
        return None
    m = _TS.fullmatch(text)
    if m is None:
        raise seg.error("not an HL7 timestamp (YYYYMMDD[HHMM[SS]][+ZZZZ])", DATA_TYPE_ERROR,
                        field, component)  # fmt: skip
    year, month, day, hour, minute, second, zone = m.groups()
    date = "-".join(p for p in (year, month, day) if p)
    if hour is None or zone is None:
        return date
    if day is None:
        raise seg.error("a timestamp with a time needs a day", DATA_TYPE_ERROR, field, component)
    return f"{date}T{hour}:{minute or '00'}:{second or '00'}{zone[:3]}:{zone[3:]}"


def fhir_date(seg: Seg, field: int) -> str | None:
    value = fhir_datetime(seg, field)
    return None if value is None else value[:10]


def table(seg: Seg, field: int, values: dict[str, str], *, default: str | None = None) -> str:
    """``values[SEG-field]``, ``default`` when empty; a code not in the table is refused."""
    code = seg.get(field).upper()
    if not code:
        if default is None:
            raise seg.error("required field is empty", REQUIRED_MISSING, field)
        return default
    if code not in values:
        raise seg.error("code not in the table this node supports", TABLE_VALUE_NOT_FOUND, field)
    return values[code]


#: HL7 coding systems (table 0396) → FHIR system URIs.
SYSTEMS = {"LN": "http://loinc.org", "SCT": "http://snomed.info/sct",
           "SNM": "http://snomed.info/sct", "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
           "NDC": "http://hl7.org/fhir/sid/ndc", "UCUM": "http://unitsofmeasure.org",
           "I10": "http://hl7.org/fhir/sid/icd-10", "ATC": "http://www.whocc.no/atc"}  # fmt: skip


def codeable(seg: Seg, field: int, *, required: bool = True) -> dict[str, object] | None:
    """A CE/CWE (identifier^text^coding system) as a FHIR ``CodeableConcept``."""
    code, text, system = seg.get(field, 1), seg.get(field, 2), seg.get(field, 3)
    if not code and not text:
        if required:
            raise seg.error("required field is empty", REQUIRED_MISSING, field)
        return None
    concept: dict[str, object] = {}
    if code:
        coding: dict[str, str] = {"code": code}
        if system:
            coding["system"] = SYSTEMS.get(system.upper(), f"urn:hl7-v2:coding-system:{system}")
        if text:
            coding["display"] = text
        concept["coding"] = [coding]
    if text:
        concept["text"] = text
    return concept
