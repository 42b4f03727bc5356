"""Fuzzing the HL7 handler: any bytes, and mutations of real messages, get one ACK back.

"Never a dropped connection on bad input" means the handler answers everything: each input
here must produce a message whose MSH is ours and whose MSA is AA, AE or AR (with an ERR
unless AA), and a refusal must store nothing. The node is real (``tests/node/case_app.py``:
sealing, blob store, outbox), with no chain.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from node.fhir_rest.routes import fhir_writer
from node.hl7.ingest import Hl7Ingest
from tests.fuzz.conftest import fuzz_settings
from tests.node.case_app import case_app

MESSAGES = Path(__file__).parents[1] / "standards" / "hl7"
SAMPLES = [(MESSAGES / f"{n}.hl7").read_text().replace("\n", "\r")
           for n in ("adt_a01", "oru_r01", "rde_o11")]  # fmt: skip

_TMP = tempfile.TemporaryDirectory(prefix="hl7-fuzz-")
_APP = case_app(Path(_TMP.name)).__enter__()  # lives for the session, like the OpenAPI fuzz
HANDLER = Hl7Ingest(fhir_writer(_APP))


def _records() -> int:
    return len(_APP.state.node.outbox().record_ids())


def _check(reply: bytes) -> str:
    segments = [s.split("|") for s in reply.decode().split("\r")]
    assert segments[0][0] == "MSH" and segments[0][2] == "MEDLEDGER"
    msa = segments[1]
    assert msa[0] == "MSA" and msa[1] in ("AA", "AE", "AR")
    if msa[1] != "AA":
        assert segments[2][0] == "ERR" and segments[2][3]
    return msa[1]


@fuzz_settings(short=40)
@given(st.binary(max_size=2048))
def test_any_bytes_get_an_ack(raw: bytes) -> None:
    before = _records()
    if _check(HANDLER.handle(raw)) != "AA":
        assert _records() == before


_FIELD_VALUES = st.one_of(
    st.text(alphabet="|^~\\&\r\n0123456789ABCDEFXYZ.-+ ", max_size=24),
    st.sampled_from(["", "NM", "SN", "F", "X", "Q", "99999999999999999999999", "^^^", "\\F\\",
                     "20261120093015+0800", "2026-11-20", "M", "Z"]),
)  # fmt: skip


@fuzz_settings(short=40)
@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_real_messages_get_an_ack(message: str, data: st.DataObject) -> None:
    segments = [s.split("|") for s in message.split("\r")]
    for _ in range(data.draw(st.integers(1, 4))):
        seg = data.draw(st.integers(0, len(segments) - 1))
        field = data.draw(st.integers(1, max(1, len(segments[seg]) + 2)))
        while len(segments[seg]) <= field:
            segments[seg].append("")
        segments[seg][field] = data.draw(_FIELD_VALUES)
    mutated = "\r".join("|".join(s) for s in segments)
    before = _records()
    if _check(HANDLER.handle(mutated.encode())) != "AA":
        assert _records() == before
