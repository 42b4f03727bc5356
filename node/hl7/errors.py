"""HL7 refusals: each becomes a NAK whose ERR segment names the field, never its value."""

from __future__ import annotations

from dataclasses import dataclass

from node.exceptions import NodeError

#: HL7 table 0357 (message error condition codes) used here.
REQUIRED_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT = "201"
UNSUPPORTED_VERSION = "203"
APPLICATION_ERROR = "207"
SEGMENT_SEQUENCE_ERROR = "100"
TEXT = {"100": "Segment sequence error", "101": "Required field missing",
        "102": "Data type error", "103": "Table value not found",
        "200": "Unsupported message type", "201": "Unsupported event code",
        "203": "Unsupported version id", "207": "Application internal error"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Location:
    """ERR-2 (ERL): segment id, its sequence (1-based), field, component (0: none)."""

    segment: str
    sequence: int = 1
    field: int = 0
    component: int = 0

    def __str__(self) -> str:
        name = f"{self.segment}-{self.field}" if self.field else self.segment
        return f"{name}.{self.component}" if self.component else name


class Hl7Error(NodeError):
    """A message refused: the ACK code (``AE``/``AR``), the HL7 error code, where, why.

    ``AR`` (reject) for what we cannot take at all (framing, encoding, message type); ``AE``
    (error) for content the mapping or FHIR validation refused.
    """

    def __init__(self, text: str, *, code: str, location: Location | None = None,
                 ack: str = "AE") -> None:  # fmt: skip
        super().__init__(text)
        self.text = text
        self.code = code
        self.location = location
        self.ack = ack


def field_error(text: str, code: str, segment: str, field: int, *, sequence: int = 1,
                component: int = 0) -> Hl7Error:  # fmt: skip
    """An ``AE`` naming ``SEG-field`` (the message says which field; values are never quoted)."""
    where = Location(segment, sequence, field, component)
    return Hl7Error(f"{where}: {text}", code=code, location=where)
