"""Outbound pushes from the gateway to the receiving hospital's own systems, for real.

PACS: a real Orthanc (Debian's) as the C-STORE SCP, with our gateway's AE title in its
``DicomModalities``; after the push it must hold the study with the same SOP Instance UIDs
and the same pixel data. HIS: Orthanc is no FHIR server and a second medledger node's
FHIR facade is another helper's work, so the HIS is a small FastAPI server started here
that validates each transaction Bundle with ``fhir.resources`` (R4B models, a dependency
already) and answers a transaction-response, or 500 for the "broken" one. The case store
is ``FileCaseStore`` (re-hash before release) plus FHIR JSON records, the same contract as
the node's verified store.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pydicom
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fhir.resources.R4B.bundle import Bundle
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from gateway.destinations import DicomDestination, FhirDestination
from gateway.disclosure.anchor import Anchorer, Policy
from gateway.disclosure.entry import instance_ref
from gateway.disclosure.log import SqliteDisclosureLog
from gateway.domain import RecordInfo
from gateway.exceptions import IntegrityError, NotFound
from keys.typing import CaseId, GrantId, RecordId
from tests.gateway.conftest import make_settings
from tests.gateway.fakes import FileCaseStore, grant_state
from tests.gateway.redeemed import G1
from tests.gateway.server import serve
from tests.gateway.started import Served, served_gateway
from tests.standards.orthanc import Modality, Orthanc, free_port, have_orthanc, orthanc

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_orthanc(), reason="Debian's orthanc is installed by make test"),
]

OUR_AE = "MEDLEDGER_GW"
CASE = CaseId(G1)  # FileCaseStore files a record under its grant's id as case id
SAMPLES = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "SC_rgb_rle.dcm"]


class RecordsAndFiles(FileCaseStore):
    """``FileCaseStore`` plus FHIR JSON records, re-hashed before release like the files."""

    def __init__(self) -> None:
        super().__init__()
        self.fhir: list[tuple[GrantId, RecordId, bytes, bytes]] = []

    def add_fhir(self, grant: GrantId, resource: dict[str, Any]) -> None:
        data = json.dumps(resource).encode()
        record = RecordId(hashlib.sha256(data).digest())
        self.fhir.append((grant, record, data, hashlib.sha256(data).digest()))

    def list_records(self, *, grants: Collection[GrantId]) -> Sequence[RecordInfo]:
        ours = [RecordInfo(record_id=r, case_id=CaseId(g), grant_id=g,
                           media_type="application/fhir+json", size=len(d), content_hash=h)
                for g, r, d, h in self.fhir if g in grants]  # fmt: skip
        return [*super().list_records(grants=grants), *ours]

    def open_record(self, *, grants: Collection[GrantId], record: RecordId) -> BinaryIO:
        for grant, rid, data, digest in self.fhir:
            if grant in grants and rid == record:
                if hashlib.sha256(data).digest() != digest:
                    raise IntegrityError("stored bytes do not match the anchored commitment")
                return io.BytesIO(data)
        raise NotFound("no such record")


@dataclass
class His:
    """A tiny FHIR server: validates transaction Bundles, remembers them, answers."""

    received: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/fhir")
        async def transaction(request: Request) -> JSONResponse:
            if len(await request.body()) > 10 * 1024 * 1024:
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=413)
            body = await request.json()
            bundle = Bundle.model_validate(body)  # raises (500) on anything not a Bundle
            if bundle.type != "transaction" or not all(e.request for e in bundle.entry or []):
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=400)
            self.received.append(body)
            entries = [{"response": {"status": "201 Created",
                                     "location": f"{e['request']['url'].split('/')[0]}/{i}"}}
                       for i, e in enumerate(body["entry"], start=1)]  # fmt: skip
            return JSONResponse({"resourceType": "Bundle", "type": "transaction-response",
                                 "entry": entries})  # fmt: skip

        @app.post("/huge")
        async def huge() -> StreamingResponse:  # an answer without end, cut off by us
            def forever() -> Iterator[bytes]:
                while True:
                    yield b" " * 65536

            return StreamingResponse(forever(), media_type="application/fhir+json")

        @app.post("/broken")
        async def broken() -> JSONResponse:
            return JSONResponse({"resourceType": "OperationOutcome"}, status_code=500)

        return app


@dataclass
class World:
    ours: Served
    pacs: Orthanc
    his: His
    study: str
    sops: set[str]
    files: list[Path]
    lone: Path  # a one-instance study the tamper test corrupts
    log: SqliteDisclosureLog  # every pushed item is a disclosure entry

    def post(self, path: str, token: str | None = None) -> httpx.Response:
        token = token or self.ours.token
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(self.ours.base + path, headers=headers, timeout=60)


PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Doe", "given": ["Jane"]}]}
OBSERVATION = {"resourceType": "Observation", "status": "final",
               "code": {"text": "Hemoglobin"}, "subject": {"reference": "Patient/p1"},
               "valueQuantity": {"value": 13.2, "unit": "g/dL"}}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("study")
    study, files, sops = generate_uid(), [], set()
    for n, name in enumerate(SAMPLES):
        ds = pydicom.dcmread(str(get_testdata_file(name)))
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.PatientID = "P-7"
        files.append(directory / f"{n}.dcm")
        ds.save_as(files[-1], enforce_file_format=True)
        sops.add(str(ds.SOPInstanceUID))
    lone = pydicom.dcmread(str(get_testdata_file("MR_small.dcm")))  # a study of its own
    lone.StudyInstanceUID, lone.SeriesInstanceUID = generate_uid(), generate_uid()
    lone.SOPInstanceUID = lone.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    lone.save_as(directory / "lone.dcm", enforce_file_format=True)
    his = His()
    modalities = {"medledger": Modality(OUR_AE, free_port())}  # we call it; it never calls us
    with orthanc(tmp_path_factory.mktemp("pacs"), modalities=modalities) as pacs, \
            serve(his.app()) as his_url:  # fmt: skip
        settings = make_settings(
            dicom_ae_title=OUR_AE,
            dicom_destinations={
                "pacs": DicomDestination(ae_title=pacs.aet, host="127.0.0.1",
                                         port=pacs.dicom_port),
                "down": DicomDestination(ae_title="NOBODY", host="127.0.0.1", port=free_port()),
            },
            fhir_destinations={"his": FhirDestination(base_url=his_url + "/fhir"),
                               "broken": FhirDestination(base_url=his_url + "/broken"),
                               "huge": FhirDestination(base_url=his_url + "/huge"),
                               "down": FhirDestination(base_url=f"http://127.0.0.1:{free_port()}")},
        )  # fmt: skip
        cases = RecordsAndFiles()
        cases.add_fhir(G1, PATIENT)
        cases.add_fhir(G1, OBSERVATION)
        log = SqliteDisclosureLog(directory / "disclosures.sqlite")
        with served_gateway([*files, directory / "lone.dcm"], settings=settings, cases=cases,
                            disclosures=Anchorer(log, None, Policy())) as ours:  # fmt: skip
            yield World(ours, pacs, his, study, sops, files, directory / "lone.dcm", log)
        log.close()


def test_a_granted_study_pushed_to_orthanc_arrives_with_the_same_sop_uids(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # every logger, and pynetdicom's own level too (a DICOM listener started earlier in this
    # process, as node/dimse does, sets it to WARNING)
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="pynetdicom"):
        response = world.post(f"/outbound/dicom/pacs/studies/{world.study}")
    assert response.status_code == 200, response.text
    assert response.json()["instances"] == 4
    refs = {instance_ref(G1, sop).hex() for sop in world.sops}
    pushed = [e for e in world.log.entries() if e.instance in refs]  # only this test pushes them
    assert sorted(e.instance for e in pushed) == sorted(
        instance_ref(G1, sop).hex() for sop in world.sops)  # fmt: skip
    assert {e.kind for e in pushed} == {"push"}
    assert sum(e.size for e in pushed) == response.json()["bytes"]
    assert world.pacs.sop_instance_uids() == world.sops
    with world.pacs.client() as http:  # what Orthanc stored is the verified bytes as stored
        for orthanc_id in world.pacs.instances():
            stored = pydicom.dcmread(io.BytesIO(http.get(f"/instances/{orthanc_id}/file").content))
            sent = next(pydicom.dcmread(p) for p in world.files
                        if pydicom.dcmread(p).SOPInstanceUID == stored.SOPInstanceUID)  # fmt: skip
            assert stored.file_meta.TransferSyntaxUID == sent.file_meta.TransferSyntaxUID
            assert stored.PixelData == sent.PixelData
    accounted = [r.getMessage() for r in caplog.records if r.name == "gateway.outbound.service"]
    assert accounted == [
        f"outbound C-STORE to 'pacs': 4 instances, {response.json()['bytes']} bytes"
    ]
    # the gateway's and pynetdicom's lines (httpx's name the URL this test itself asked for)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert "Sending Store Request" in text  # pynetdicom's INFO lines were captured
    for secret in [world.study, "P-7", *world.sops]:
        assert secret not in text


def test_a_push_without_a_live_grant_is_refused_and_sends_nothing(world: World) -> None:
    before = len(world.pacs.instances())
    chain = world.ours.gw.chain
    chain.grants[G1] = grant_state(G1, world.ours.gw.settings.hospital, revoked=True)
    try:
        for path in (f"/outbound/dicom/pacs/studies/{world.study}",
                     f"/outbound/fhir/his/cases/0x{CASE.hex()}"):  # fmt: skip
            response = world.post(path)
            assert (response.status_code, response.json()["error"]) == (404, "not_found")
    finally:
        chain.grants[G1] = grant_state(G1, world.ours.gw.settings.hospital)
    assert len(world.pacs.instances()) == before
    assert httpx.post(world.ours.base + f"/outbound/dicom/pacs/studies/{world.study}",
                      timeout=10).status_code == 401  # fmt: skip


def test_destination_errors_are_502_with_a_clear_message(world: World) -> None:
    down = world.post(f"/outbound/dicom/down/studies/{world.study}")
    assert (down.status_code, down.json()["error"]) == (502, "destination_failed")
    assert "'down'" in down.json()["detail"] and "association" in down.json()["detail"]
    unknown = world.post(f"/outbound/dicom/nowhere/studies/{world.study}")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_destination")
    for name, words in [("broken", "answered 500"), ("down", "could not be reached"),
                        ("huge", "answered more than")]:  # fmt: skip
        response = world.post(f"/outbound/fhir/{name}/cases/0x{CASE.hex()}")
        assert (response.status_code, response.json()["error"]) == (502, "destination_failed")
        assert words in response.json()["detail"]
    assert world.post("/outbound/dicom/bad name/studies/1.2").status_code == 422


def test_a_granted_case_s_records_go_to_the_his_as_one_valid_transaction(world: World) -> None:
    before = world.log.head()[0]
    response = world.post(f"/outbound/fhir/his/cases/0x{CASE.hex()}")
    assert response.status_code == 200, response.text
    assert response.json() == {"destination": "his", "entries": 2}
    pushed = world.log.entries()[before:]
    assert [(e.kind, e.grant) for e in pushed] == [("push", G1.hex())] * 2
    bundle = world.his.received[-1]
    assert bundle["type"] == "transaction"
    requests = sorted((e["request"]["method"], e["request"]["url"]) for e in bundle["entry"])
    assert requests == [("POST", "Observation"), ("PUT", "Patient/p1")]
    sent = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    assert sent == {"Patient": PATIENT, "Observation": OBSERVATION}  # verified bytes, unchanged


def test_a_tampered_instance_is_never_pushed(world: World) -> None:
    lone = pydicom.dcmread(world.lone)
    data = bytearray(world.lone.read_bytes())
    data[-1] ^= 0xFF  # a pixel byte: the file still parses, its hash no longer matches
    world.lone.write_bytes(bytes(data))
    response = world.post(f"/outbound/dicom/pacs/studies/{lone.StudyInstanceUID}")
    assert (response.status_code, response.json()["error"]) == (502, "integrity_failure")
    assert str(lone.SOPInstanceUID) not in world.pacs.sop_instance_uids()
