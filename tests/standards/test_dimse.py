"""The node's DICOM port against dcmtk's ``echoscu``/``storescu``, pynetdicom and Orthanc.

A real chain anchors what arrives; every push is checked by reading the study back through
the node: the record's state and proof from ``GET /records/{id}``, and its instances
decrypted from the blob store and re-hashed (:class:`node.dimse.prior.KeyringPriorInstances`).
"""

from __future__ import annotations

import io
import logging
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE, _config
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]

from tests.standards.conftest import (
    ELSEWHERE_AET,
    IDLE_TIMEOUT_S,
    MAX_INSTANCE_BYTES,
    ORTHANC_AET,
    PACS_AET,
)
from tests.standards.ledger_node import NODE_AET, LedgerNode, make_study
from tests.standards.orthanc import Modality, Orthanc, have_orthanc, orthanc

pytestmark = pytest.mark.skipif(
    not have_orthanc() or shutil.which("storescu") is None,
    reason="Debian's orthanc, orthanc-dicomweb and dcmtk are installed by make test",
)

STORESCU_MIX = (("CT_small.dcm", 3), ("MR_small.dcm", 2), ("SC_rgb_jpeg_dcmtk.dcm", 1))


def _dcmtk(
    tool: str, port: int, *args: str, aet: str = PACS_AET
) -> subprocess.CompletedProcess[str]:
    argv = [tool, "-v", "-aet", aet, "-aec", NODE_AET, "127.0.0.1", str(port), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_echoscu_from_an_allowed_peer_is_answered(ledger: LedgerNode) -> None:
    echo = _dcmtk("echoscu", ledger.dicom_port)
    assert echo.returncode == 0, echo.stderr + echo.stdout


def test_an_unknown_calling_ae_title_is_rejected_at_association(ledger: LedgerNode) -> None:
    for aet in ("STRANGER", ELSEWHERE_AET):  # unknown title; known title from the wrong host
        echo = _dcmtk("echoscu", ledger.dicom_port, aet=aet)
        out = echo.stdout + echo.stderr
        assert echo.returncode != 0, out
        assert "Association Rejected" in out and "Calling AE Title Not Recognized" in out, out


def test_storescu_pushes_a_study_that_is_anchored_and_stored_as_sent(
    ledger: LedgerNode, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # -xy: JPEG lossy proposed first, so the JPEG baseline instance goes as it is (dcmtk
    # cannot transcode JPEG 2000, which Orthanc sends below)
    study = make_study(tmp_path / "study", mix=STORESCU_MIX)
    store = _dcmtk("storescu", ledger.dicom_port, "-xy", *map(str, study.files))
    assert store.returncode == 0, store.stderr
    record = ledger.wait_record(study.uid)
    status = ledger.wait_anchored(record)
    assert status["kind"] == "dicom-study" and status["proof"] is not None
    stored = ledger.stored_instances(record, tmp_path / "back")
    assert set(stored) == study.sop_uids()
    for path in study.files:  # JPEG kept as sent (storescu may re-encode uncompressed ones)
        sent = pydicom.dcmread(path)
        got = pydicom.dcmread(io.BytesIO(stored[str(sent.SOPInstanceUID)]))
        sent_ts, got_ts = sent.file_meta.TransferSyntaxUID, got.file_meta.TransferSyntaxUID
        assert got_ts == sent_ts if sent_ts.is_compressed else not got_ts.is_compressed
        assert got.PixelData == sent.PixelData
    assert "MRN-STD-1" not in str(status)  # the pseudonym only, never the id
    assert "pushed study" in caplog.text and "MRN-STD-1" not in caplog.text
    assert "CompressedSamples" not in caplog.text and "Lestrade" not in caplog.text  # names


def test_pushing_the_same_study_twice_is_idempotent_and_one_new_instance_makes_a_version(
    ledger: LedgerNode, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", mix=(("CT_small.dcm", 3),))
    assert _dcmtk("storescu", ledger.dicom_port, *map(str, study.files[:2])).returncode == 0
    first = ledger.wait_record(study.uid)
    records = len(ledger.node.outbox().record_ids())
    again = _dcmtk("storescu", ledger.dicom_port, *map(str, study.files[:2]))
    assert again.returncode == 0
    assert (again.stdout + again.stderr).count("Received Store Response (Success)") == 2
    ledger.listener_idle()
    assert ledger.index.latest(study.uid) == first
    assert len(ledger.node.outbox().record_ids()) == records  # nothing new stored or anchored
    # the third instance alone: a new version holding all three, linked to the first
    assert _dcmtk("storescu", ledger.dicom_port, str(study.files[2])).returncode == 0
    second = ledger.wait_record(study.uid, other_than=first)
    assert ledger.index.previous(second) == first
    assert set(ledger.stored_instances(second, tmp_path / "v2")) == study.sop_uids()
    assert len(ledger.stored_instances(first, tmp_path / "v1")) == 2
    ledger.wait_anchored(second)


def test_a_malformed_instance_gets_a_failure_status_and_nothing_is_stored(
    ledger: LedgerNode, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", mix=(("CT_small.dcm", 2),))
    records = len(ledger.node.outbox().record_ids())
    # a StudyInstanceUID that is no UID: storescu sends it, the node refuses it
    ds = pydicom.dcmread(study.files[0])
    with pytest.warns(UserWarning, match="Invalid value for VR UI"):
        ds.StudyInstanceUID = "1.2.not-a-uid"
    ds.save_as(tmp_path / "bad-uid.dcm", enforce_file_format=True)
    store = _dcmtk("storescu", ledger.dicom_port, str(tmp_path / "bad-uid.dcm"))
    out = store.stdout + store.stderr
    assert "Received Store Response (Error: DataSetDoesNotMatchSOPClass)" in out, out
    # a data set cut inside its pixel data (sent as raw bytes by pynetdicom, never decoded)
    raw = study.files[1].read_bytes()
    (tmp_path / "cut.dcm").write_bytes(raw[: len(raw) - 4000])
    ae = AE(ae_title=PACS_AET)
    ae.add_requested_context(CTImageStorage, pydicom.uid.ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", ledger.dicom_port, ae_title=NODE_AET)
    assert assoc.is_established
    _config.STORE_SEND_CHUNKED_DATASET = True  # the file's bytes as they are, not re-encoded
    try:
        answer = assoc.send_c_store(tmp_path / "cut.dcm")
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = False
        assoc.release()
    assert answer.Status == 0xC000
    # over the per-instance limit: refused for lack of resources, the spooled bytes dropped
    big = pydicom.dcmread(study.files[1])
    big.PixelData = bytes(MAX_INSTANCE_BYTES + 1)
    big.save_as(tmp_path / "big.dcm", enforce_file_format=True)
    store = _dcmtk("storescu", ledger.dicom_port, str(tmp_path / "big.dcm"))
    assert "Received Store Response (Refused: OutOfResources)" in store.stdout + store.stderr
    ledger.listener_idle()
    assert ledger.index.latest(study.uid) is None
    assert len(ledger.node.outbox().record_ids()) == records


def test_associations_beyond_the_limit_are_refused(ledger: LedgerNode) -> None:
    ae = AE(ae_title=PACS_AET)
    ae.add_requested_context(Verification)
    held = [ae.associate("127.0.0.1", ledger.dicom_port, ae_title=NODE_AET) for _ in range(2)]
    try:
        assert all(a.is_established for a in held)
        third = ae.associate("127.0.0.1", ledger.dicom_port, ae_title=NODE_AET)
        assert third.is_rejected
        rj = third.acceptor.primitive
        assert (rj.result, rj.result_source, rj.diagnostic) == (0x02, 0x03, 0x02)
    finally:
        for a in held:
            a.release()
    ledger.listener_idle()
    assert _dcmtk("echoscu", ledger.dicom_port).returncode == 0  # the port still serves


def test_a_huge_declared_pdu_is_refused_without_reading_it(ledger: LedgerNode) -> None:
    with socket.create_connection(("127.0.0.1", ledger.dicom_port), timeout=10) as sock:
        sock.sendall(struct.pack(">BBL", 0x01, 0, 0xFFFFFFF0) + b"\x00\x01" + b"X" * 1000)
        sock.settimeout(10)
        assert sock.recv(65536) == b""  # closed at once, the 4 GiB never awaited or buffered
    ledger.listener_idle(timeout=5)  # and the association is gone, not left to time out
    assert _dcmtk("echoscu", ledger.dicom_port).returncode == 0


@pytest.fixture(scope="module")
def pacs(ledger: LedgerNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    modalities = {"ledger": Modality(NODE_AET, ledger.dicom_port)}
    with orthanc(tmp_path_factory.mktemp("orthanc"), aet=ORTHANC_AET,
                 modalities=modalities) as server:  # fmt: skip
        yield server


def test_orthanc_as_the_sending_pacs_stores_a_study_that_is_anchored(
    ledger: LedgerNode, pacs: Orthanc, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", patient="MRN-ORTHANC-9")
    ids = {pacs.upload(p.read_bytes())["ParentStudy"] for p in study.files}
    assert len(ids) == 1
    with pacs.client(timeout=120) as http:
        sent = http.post("/modalities/ledger/store", json={"Resources": list(ids)})
    assert sent.status_code == 200, sent.text
    ledger.listener_idle()  # Orthanc may use one association per transfer syntax: versions
    record = ledger.wait_record(study.uid)
    assert ledger.wait_anchored(record)["proof"] is not None
    assert set(ledger.stored_instances(record, tmp_path / "back")) == study.sop_uids()


def test_a_silent_connection_is_dropped_after_the_idle_timeout(ledger: LedgerNode) -> None:
    """A connection that never sends its A-ASSOCIATE-RQ does not hold a slot for long."""
    with socket.create_connection(("127.0.0.1", ledger.dicom_port), timeout=10) as sock:
        sock.settimeout(IDLE_TIMEOUT_S * 6)
        assert sock.recv(1024) == b""  # closed by the node, not by this timeout
    ledger.listener_idle()


def test_two_pacs_pushing_the_same_study_at_once_make_one_record(
    ledger: LedgerNode, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", mix=(("CT_small.dcm", 4),))
    records = len(ledger.node.outbox().record_ids())
    argv = ["storescu", "-aet", PACS_AET, "-aec", NODE_AET, "127.0.0.1", str(ledger.dicom_port)]
    pushes = [subprocess.Popen([*argv, *map(str, study.files)], stderr=subprocess.PIPE)
              for _ in range(2)]  # fmt: skip
    assert [p.wait(timeout=60) for p in pushes] == [0, 0]
    ledger.listener_idle()
    record = ledger.index.latest(study.uid)
    assert record is not None and ledger.index.previous(record) is None
    assert len(ledger.node.outbox().record_ids()) == records + 1
    assert set(ledger.stored_instances(record, tmp_path / "back")) == study.sop_uids()


def test_an_association_left_open_is_ingested_after_its_quiet_period(
    ledger: LedgerNode, tmp_path: Path
) -> None:
    """A modality that stores and then keeps the association open without a word: the node
    aborts it after ``idle_timeout_s`` and ingests what was stored, as at a release."""
    study = make_study(tmp_path / "study", mix=(("CT_small.dcm", 1),))
    ae = AE(ae_title=PACS_AET)
    ae.add_requested_context(CTImageStorage, pydicom.uid.ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", ledger.dicom_port, ae_title=NODE_AET)
    assert assoc.is_established
    assert assoc.send_c_store(pydicom.dcmread(study.files[0])).Status == 0x0000
    record = ledger.wait_record(study.uid, timeout=IDLE_TIMEOUT_S * 10)  # never released
    assoc.join(timeout=IDLE_TIMEOUT_S * 10)  # the node's abort ended it, not this side
    assert assoc.is_aborted and not assoc.is_released
    assert set(ledger.stored_instances(record, tmp_path / "back")) == study.sop_uids()
