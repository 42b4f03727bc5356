"""HL7 v2 over MLLP into the node: python-hl7's MLLP client and its ``mllp_send`` command.

The messages (``tests/standards/hl7/``) are written from the HL7 v2.5.1 examples (ADT^A01 of
chapter 3, ORU^R01 of chapter 7, an RDE^O11 of chapter 4A). The listener is the node's real
one on a loopback port, in front of a real node (``tests/node/case_app.py``: real sealing,
blob store and outbox, no chain); records are read back through the FHIR facade (decrypted
and hash-checked). Anchoring is covered by ``test_fhir_hl7_anchored.py``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hl7.client import MLLPClient

from contracts.typing import RecordKind
from node.config import Hl7Settings
from node.fhir_rest.routes import fhir_writer
from node.fhir_rest.writer import FhirWriter
from node.hl7.ingest import Hl7Ingest
from node.hl7.listener import Hl7Listener
from tests.gateway.server import serve
from tests.node.case_app import AUTH, case_app

MESSAGES = Path(__file__).parent / "hl7"
LIMIT = 16 * 1024
MRN_SYSTEM = "urn:hl7-v2:assigning-authority:GHH"


def message(name: str) -> str:
    return (MESSAGES / f"{name}.hl7").read_text().replace("\n", "\r")


@dataclass
class Hospital:
    port: int
    fhir: httpx.Client
    writer: FhirWriter
    app: Any

    def records(self) -> int:
        return len(self.app.state.node.outbox().record_ids())

    def send(self, name: str) -> list[list[str]]:
        with MLLPClient("127.0.0.1", self.port) as client:
            return segments(client.send_message(message(name)))


def segments(ack: str | bytes) -> list[list[str]]:
    text = ack.decode() if isinstance(ack, bytes) else ack
    return [s.split("|") for s in text.strip("\x0b\x1c\r\n").split("\r") if s]


def seg(ack: list[list[str]], name: str) -> list[str]:
    return next(s for s in ack if s[0] == name)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hospital]:
    tmp = tmp_path_factory.mktemp("hl7")
    settings = Hl7Settings(enabled=True, port=0, max_message_bytes=LIMIT, idle_timeout_s=1.0)
    with case_app(tmp) as app, serve(app) as url:
        writer = fhir_writer(app)
        listener = Hl7Listener(Hl7Ingest(writer).handle, settings)
        _, port = listener.start()
        client = httpx.Client(base_url=f"{url}/fhir", headers=AUTH, timeout=30)
        try:
            yield Hospital(port, client, writer, app)
        finally:
            client.close()
            listener.stop()


def _patient(h: Hospital, system: str, value: str) -> dict[str, Any]:
    pid = h.writer.lookup(system, value)
    assert pid is not None
    found: dict[str, Any] = h.fhir.get(f"/Patient/{pid}").json()
    return found


def test_adt_a01_then_a08_create_and_update_the_patient(hospital: Hospital) -> None:
    ack = hospital.send("adt_a01")
    assert seg(ack, "MSA")[1:3] == ["AA", "MSG00001"]
    assert seg(ack, "MSH")[8] == "ACK^A01^ACK"
    system = "urn:hl7-v2:assigning-authority:GOOD%20HEALTH%20HOSPITAL"
    patient = _patient(hospital, system, "PATID1234")
    assert patient["name"] == [{"family": "EVERYMAN", "given": ["ADAM", "A"]}]
    assert patient["birthDate"] == "1961-06-15" and patient["gender"] == "male"
    (visit_id, _, _), *more = hospital.writer.index.of_type("Encounter")
    assert not more  # PV1 of the A01: one inpatient admission
    visit = hospital.fhir.get(f"/Encounter/{visit_id}").json()
    assert visit["class"]["code"] == "IMP" and visit["status"] == "in-progress"
    assert visit["subject"]["reference"] == f"Patient/{patient['id']}"
    ack = hospital.send("adt_a08")
    assert seg(ack, "MSA")[1:3] == ["AA", "MSG00002"]
    updated = _patient(hospital, system, "PATID1234")
    assert updated["id"] == patient["id"]  # the same Patient, a new version
    assert updated["name"][0]["given"] == ["ADAM", "ALAN"]
    v1 = hospital.fhir.get(f"/Patient/{patient['id']}/_history/1").json()
    assert v1["name"][0]["given"] == ["ADAM", "A"]
    assert len(hospital.writer.index.of_type("Encounter")) == 1  # an A08 updates the patient


def test_oru_r01_by_mllp_send_becomes_a_report_and_observations(hospital: Hospital) -> None:
    path = MESSAGES / "oru_r01.hl7"
    before = hospital.records()
    sender = Path(sys.executable).with_name("mllp_send")
    out = subprocess.run([str(sender), "--loose", "--file", str(path), "--port",
                          str(hospital.port), "127.0.0.1"], capture_output=True, timeout=60,
                         check=True)  # fmt: skip
    ack = segments(out.stdout)  # bytes: text mode would turn the segments' CR into LF
    assert seg(ack, "MSA")[1:3] == ["AA", "CNTRL-3456"]
    assert hospital.records() == before + 4  # Patient, 2 Observations, DiagnosticReport
    patient = _patient(hospital, MRN_SYSTEM, "555-44-4444")
    subject = f"Patient/{patient['id']}"
    rows = hospital.writer.index.of_type("DiagnosticReport")
    reports = [hospital.fhir.get(f"/DiagnosticReport/{r[0]}").json() for r in rows]
    (report,) = [r for r in reports if r["identifier"] == [{"value": "1045813"}]]
    assert report["status"] == "final" and report["subject"]["reference"] == subject
    glucose, heart = (hospital.fhir.get(f"/{r['reference']}").json() for r in report["result"])
    assert glucose["valueQuantity"] == {"value": 182, "unit": "mg/dL", "code": "mg/dL",
                                        "system": "http://unitsofmeasure.org"}  # fmt: skip
    assert glucose["interpretation"][0]["coding"][0]["code"] == "H"
    assert glucose["code"]["coding"][0] == {"code": "1554-5", "display": "GLUCOSE",
                                            "system": "http://loinc.org"}  # fmt: skip
    assert heart["effectiveDateTime"] == "2002-02-15T07:35:00+01:00"
    assert heart["subject"]["reference"] == subject and heart["status"] == "final"


def test_a_retransmitted_message_stores_nothing_twice(hospital: Hospital) -> None:
    first = hospital.send("oru_r01")  # sent before by the test above, or not: both are fine
    assert seg(first, "MSA")[1:3] == ["AA", "CNTRL-3456"]
    before = hospital.records()
    again = hospital.send("oru_r01")  # the sender missed our ACK and sends it again
    assert seg(again, "MSA")[1:3] == ["AA", "CNTRL-3456"]
    assert hospital.records() == before


def test_rde_o11_becomes_a_prescription(hospital: Hospital) -> None:
    ack = hospital.send("rde_o11")
    assert seg(ack, "MSA")[1:3] == ["AA", "RX-00321"]
    (rid, _, record_id), *_ = hospital.writer.index.of_type("MedicationRequest")
    order = hospital.fhir.get(f"/MedicationRequest/{rid}").json()
    assert order["status"] == "active" and order["intent"] == "order"
    assert order["medicationCodeableConcept"]["coding"][0]["code"] == "0047-0402-30"
    assert order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 250
    assert order["dispenseRequest"]["quantity"]["value"] == 20
    patient = _patient(hospital, MRN_SYSTEM, "555-44-4444")
    assert order["subject"]["reference"] == f"Patient/{patient['id']}"
    entry = hospital.app.state.node.outbox().entry(bytes(record_id))
    assert entry.kind == RecordKind.PRESCRIPTION


@pytest.mark.parametrize(
    ("name", "ack_code", "where", "error"),
    [
        ("oru_bad_numeric", "AE", "OBX^1^5", "102"),
        ("oru_no_pid", "AE", "PID^1", "101"),
        ("mdm_t02", "AR", "MSH^1^9^^1", "200"),
    ],
)
def test_a_bad_message_gets_a_nak_naming_the_field_and_stores_nothing(
    hospital: Hospital, name: str, ack_code: str, where: str, error: str
) -> None:
    before = hospital.records()
    ack = hospital.send(name)
    msa, err = seg(ack, "MSA"), seg(ack, "ERR")
    assert msa[1] == ack_code and msa[2] == message(name).split("\r")[0].split("|")[9]
    assert err[2] == where and err[3].split("^")[0] == error
    assert "EVERYWOMAN" not in "|".join(err) and "one hundred" not in "|".join(err)
    assert hospital.records() == before


def _raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _read_frame(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\x1c\r"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_garbage_and_non_utf8_get_ar_and_the_connection_stays_usable(hospital: Hospital) -> None:
    with _raw(hospital.port) as sock:
        for bad in (b"hello, not hl7", b"MSH|^~\\&|X|Y|||2020||ADT^A01|1|P|2.5.1\rPID|||\xff\xfe"):
            sock.sendall(b"\x0b" + bad + b"\x1c\r")
            ack = segments(_read_frame(sock))
            assert seg(ack, "MSA")[1] == "AR" and seg(ack, "ERR")[3]
        sock.sendall(b"junk outside a frame\x1c\r")  # no start block
        assert seg(segments(_read_frame(sock)), "MSA")[1] == "AR"
        sock.sendall(b"\x0b" + message("adt_a01").encode() + b"\x1c\r")
        assert seg(segments(_read_frame(sock)), "MSA")[1:3] == ["AA", "MSG00001"]


def test_an_oversize_frame_without_end_block_is_refused_and_closed(hospital: Hospital) -> None:
    before = hospital.records()
    with _raw(hospital.port) as sock:
        head = message("adt_a01").encode()
        sock.sendall(b"\x0b" + head)
        try:
            for _ in range(16):  # 16 x 4 KB past a 16 KB limit, never an end block
                sock.sendall(b"X" * 4096)
        except OSError:
            pass  # the node may close before we finish: that is the refusal
        ack = segments(_read_frame(sock))
        assert seg(ack, "MSA")[1] == "AR"
        assert "exceeds" in seg(ack, "ERR")[8]
        assert sock.recv(4096) == b""  # closed after the NAK
    assert hospital.records() == before
    assert seg(hospital.send("adt_a01"), "MSA")[1] == "AA"  # the listener still serves


def test_an_idle_connection_is_closed(hospital: Hospital) -> None:
    with _raw(hospital.port) as sock:
        assert sock.recv(10) == b""  # idle_timeout_s=1 in the fixture; recv waits up to 10 s


def test_a_peer_not_allowed_is_closed_without_reading(hospital: Hospital) -> None:
    settings = Hl7Settings(enabled=True, port=0, allowed_peers=["10.0.0.0/8"])
    listener = Hl7Listener(Hl7Ingest(hospital.writer).handle, settings)
    _, port = listener.start()
    try:
        before = hospital.records()
        with _raw(port) as sock:
            try:
                sock.sendall(b"\x0b" + message("adt_a01").encode() + b"\x1c\r")
            except OSError:
                pass
            try:
                assert sock.recv(4096) == b""
            except ConnectionResetError:
                pass  # closed with our bytes unread: the kernel resets; closed either way
        assert hospital.records() == before
    finally:
        listener.stop()
