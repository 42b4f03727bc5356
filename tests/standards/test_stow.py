"""STOW-RS on the node against dicomweb-client and Orthanc's DICOMweb client plugin.

Stored studies are read back through the node (record state and proof, instances
decrypted and re-hashed), not only judged by status codes. Attacks: an oversized body, bad
parts, a broken multipart, a foreign study, the wrong media type, no token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from requests.exceptions import HTTPError

from tests.standards.conftest import MAX_BODY_BYTES, MAX_INSTANCE_BYTES
from tests.standards.ledger_node import AUTH, LedgerNode, make_study
from tests.standards.orthanc import DicomWebServer, Orthanc, orthanc

SMALL = (("CT_small.dcm", 2), ("JPEG2000.dcm", 1))


def _body(parts: list[bytes], boundary: str, *, close: bool = True) -> bytes:
    out = b"".join(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p
                   + b"\r\n" for p in parts)  # fmt: skip
    return out + (f"--{boundary}--\r\n".encode() if close else b"")


def _post(ledger: LedgerNode, parts: list[bytes], *, path: str = "/studies",
          close: bool = True, headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
    boundary = uuid.uuid4().hex
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    with ledger.http() as http:
        return http.post(path, content=_body(parts, boundary, close=close),
                         headers={"Content-Type": ctype, **(headers or {})})  # fmt: skip


def _failures(body: dict[str, object]) -> list[int]:
    seq = body.get("00081198", {"Value": []})
    assert isinstance(seq, dict)
    return [item["00081197"]["Value"][0] for item in seq["Value"]]


def test_dicomweb_client_stores_a_study_that_is_anchored_and_again_is_idempotent(
    ledger: LedgerNode, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", mix=SMALL)
    client = DICOMwebClient(ledger.url, headers=AUTH)
    datasets = [pydicom.dcmread(p) for p in study.files]
    answer = client.store_instances(datasets)
    stored = {str(i.ReferencedSOPInstanceUID) for i in answer.ReferencedSOPSequence}
    assert stored == study.sop_uids() and "FailedSOPSequence" not in answer
    record = ledger.wait_record(study.uid)
    assert ledger.wait_anchored(record)["proof"] is not None
    back = ledger.stored_instances(record, tmp_path / "back")
    assert set(back) == study.sop_uids()
    records = len(ledger.node.outbox().record_ids())
    again = client.store_instances(datasets, study_instance_uid=study.uid)
    assert len(again.ReferencedSOPSequence) == len(study.files)
    assert ledger.index.latest(study.uid) == record
    assert len(ledger.node.outbox().record_ids()) == records


def test_a_new_instance_later_makes_a_version_holding_the_union(
    ledger: LedgerNode, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", mix=(("CT_small.dcm", 3),))
    data = [p.read_bytes() for p in study.files]
    assert _post(ledger, data[:2]).status_code == 200
    first = ledger.wait_record(study.uid)
    added = _post(ledger, data[1:], path=f"/studies/{study.uid}")
    assert added.status_code == 200, added.text
    second = ledger.wait_record(study.uid, other_than=first)
    assert ledger.index.previous(second) == first
    assert set(ledger.stored_instances(second, tmp_path / "v2")) == study.sop_uids()
    assert added.headers["link"] == f'</records/{second.hex()}>; rel="related"'


def test_bad_parts_fail_alone_with_their_reason(ledger: LedgerNode, tmp_path: Path) -> None:
    study = make_study(tmp_path / "study", mix=(("CT_small.dcm", 1),))
    good = study.files[0].read_bytes()
    records = len(ledger.node.outbox().record_ids())
    only_bad = _post(ledger, [b"not a DICOM file", good[: len(good) // 2]])
    assert only_bad.status_code == 409, only_bad.text
    assert only_bad.headers["content-type"] == "application/dicom+json"
    assert _failures(only_bad.json()) == [0xC000, 0xC000]
    assert "NotDicom" in only_bad.headers["warning"]
    assert "TruncatedDicom" in only_bad.headers["warning"]
    assert len(ledger.node.outbox().record_ids()) == records
    mixed = _post(ledger, [good, b"\x00" * 200])
    assert mixed.status_code == 202, mixed.text
    assert len(mixed.json()["00081199"]["Value"]) == 1 and _failures(mixed.json()) == [0xC000]
    ledger.wait_anchored(ledger.wait_record(study.uid))
    other = make_study(tmp_path / "other", mix=(("CT_small.dcm", 1),))
    too_big = _post(ledger, [b"\x00" * (MAX_INSTANCE_BYTES + 1)])
    assert too_big.status_code == 409 and _failures(too_big.json()) == [0xA700]
    foreign = _post(ledger, [other.files[0].read_bytes()], path=f"/studies/{study.uid}")
    assert foreign.status_code == 409 and _failures(foreign.json()) == [0xA900]
    assert ledger.index.latest(other.uid) is None


def test_malformed_requests_are_refused_with_a_clear_error(
    ledger: LedgerNode, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", mix=(("CT_small.dcm", 1),))
    good = study.files[0].read_bytes()
    cut = _post(ledger, [good], close=False)
    assert cut.status_code == 400 and "closing delimiter" in cut.json()["detail"]
    with ledger.http() as http:
        wrong = http.post("/studies", content=good, headers={"Content-Type": "application/dicom"})
        assert wrong.status_code == 415 and wrong.json()["error"] == "unsupported_media_type"
        json_meta = http.post(
            "/studies",
            content=b"--x--",
            headers={
                "Content-Type": 'multipart/related; type="application/dicom+json"; boundary=x'
            },
        )
        assert json_meta.status_code == 415
        no_boundary = http.post("/studies", content=good,
                                headers={"Content-Type": "multipart/related"})  # fmt: skip
        assert no_boundary.status_code == 400
    anonymous = httpx.post(f"{ledger.url}/studies", content=good,
                           headers={"Content-Type": "multipart/related; boundary=x"})  # fmt: skip
    assert anonymous.status_code == 401
    assert ledger.index.latest(study.uid) is None


def test_an_oversized_body_is_refused_with_413_before_it_is_parsed(ledger: LedgerNode) -> None:
    boundary = "b" * 32
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    big = _body([b"\x00" * (MAX_BODY_BYTES + 1)], boundary)
    with ledger.http() as http:
        declared = http.post("/studies", content=big, headers={"Content-Type": ctype})
        assert declared.status_code == 413, declared.text

        def stream() -> Iterator[bytes]:  # no Content-Length: the limit is counted as it comes
            for start in range(0, len(big), 256 * 1024):
                yield big[start : start + 256 * 1024]

        streamed = http.post("/studies", content=stream(), headers={"Content-Type": ctype})
        assert streamed.status_code == 413
    assert not any((ledger.node.parts.outbox_path.parent / "spool").glob("spool-*/*"))


@pytest.fixture(scope="module")
def pacs(ledger: LedgerNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    servers = {"ledger": DicomWebServer(ledger.url, headers=AUTH)}
    with orthanc(tmp_path_factory.mktemp("orthanc-stow"), dicomweb_servers=servers) as server:
        yield server


def test_orthanc_dicomweb_client_pushes_a_study_by_stow(
    ledger: LedgerNode, pacs: Orthanc, tmp_path: Path
) -> None:
    study = make_study(tmp_path / "study", patient="MRN-STOW-3")
    ids = {pacs.upload(p.read_bytes())["ParentStudy"] for p in study.files}
    with pacs.client(timeout=120) as http:
        sent = http.post("/dicom-web/servers/ledger/stow", json={"Resources": list(ids)})
    assert sent.status_code == 200, sent.text + pacs.log()[-2000:]
    record = ledger.wait_record(study.uid)
    assert ledger.wait_anchored(record)["proof"] is not None
    assert set(ledger.stored_instances(record, tmp_path / "back")) == study.sop_uids()


def test_a_dicomweb_client_without_the_token_is_refused(ledger: LedgerNode, tmp_path: Path) -> None:
    study = make_study(tmp_path / "study", mix=(("CT_small.dcm", 1),))
    with pytest.raises(HTTPError) as refused:
        DICOMwebClient(ledger.url).store_instances([pydicom.dcmread(study.files[0])])
    assert refused.value.response.status_code == 401
