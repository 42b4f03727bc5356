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
from node.hl7.fields import Seg

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


def _header(code: str, *, to_app: str = "", to_facility: str = "", event: str = "",
            version: str = "2.5.1") -> str:  # fmt: skip
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    kind = f"ACK^{_escape(event)}^ACK" if event else "ACK"
    return (f"MSH|{SEPARATORS[1:]}|{APPLICATION}|{FACILITY}|{_escape(to_app)}|"
            f"{_escape(to_facility)}|{now}||{kind}|{generate_message_control_id()}|P|"
            f"{_escape(version) or '2.5.1'}")  # fmt: skip


def reply(message: hl7.Message, error: Hl7Error | None = None) -> str:
    r"""``AA`` for ``message``, or its ``AE``/``AR`` with an ERR segment (``\r``-separated).

    Built here rather than by python-hl7's ``create_ack``, which raises on a message whose
    MSH-1/MSH-2 are unusual (found by ``tests/fuzz/test_hl7.py``): the values copied from the
    message are read with the tolerant :class:`~node.hl7.fields.Seg` and re-escaped for our
    standard separators.
    """
    msh = Seg(message, "MSH")
    code = "AA" if error is None else error.ack
    header = _header(code, to_app=msh.get(3), to_facility=msh.get(4), event=msh.get(9, 2),
                     version=msh.get(12))  # fmt: skip
    ack = f"{header}\rMSA|{code}|{_escape(msh.get(10))}"
    return ack if error is None else f"{ack}\r{err_segment(error)}"


def bare_nak(error: Hl7Error) -> str:
    """A NAK for input that is not a readable message (no MSH to answer from)."""
    return f"{_header(error.ack)}\rMSA|{error.ack}|\r{err_segment(error)}"
