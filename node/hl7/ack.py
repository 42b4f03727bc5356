"""ACK and NAK messages (HL7 v2.5.1 chapter 2): MSA with the original control id, ERR.

An ERR segment names where (ERR-2, ``SEG^seq^field^^component``), what (ERR-3, table
0357), the severity (ERR-4) and a sentence (ERR-8) built from our own text, which names
fields and never quotes a value, so a NAK carries no PHI back over the wire.
"""

from __future__ import annotations

from datetime import UTC, datetime

import hl7
from hl7.util import generate_message_control_id

from node.hl7.errors import TEXT, Hl7Error

APPLICATION = "MEDLEDGER"
FACILITY = "NODE"
SEPARATORS = "|^~\\&"


def _escape(text: str) -> str:
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    return out.replace("~", "\\R\\").replace("&", "\\T\\").replace("\r", " ").replace("\n", " ")


def err_segment(error: Hl7Error) -> str:
    """The ERR segment of a refusal."""
    where = ""
    if error.location is not None:
        loc = error.location
        where = f"{loc.segment}^{loc.sequence}^{loc.field or ''}^^{loc.component or ''}"
        where = where.rstrip("^")
    code = f"{error.code}^{TEXT.get(error.code, 'Error')}^HL70357"
    return f"ERR||{where}|{code}|E||||{_escape(error.text)[:400]}"


def reply(message: hl7.Message, error: Hl7Error | None = None) -> str:
    r"""``AA`` for ``message``, or its ``AE``/``AR`` with an ERR segment (``\\r``-separated)."""
    code = "AA" if error is None else error.ack
    ack = str(message.create_ack(code, application=APPLICATION, facility=FACILITY)).rstrip("\r")
    return ack if error is None else f"{ack}\r{err_segment(error)}"


def bare_nak(error: Hl7Error) -> str:
    """A NAK for input that is not a readable message (no MSH to answer from)."""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    msh = f"MSH|^~\\&|{APPLICATION}|{FACILITY}|||{now}||ACK|{generate_message_control_id()}|P|2.5.1"
    return f"{msh}\rMSA|{error.ack}|\r{err_segment(error)}"
