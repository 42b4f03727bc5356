"""Our node, ready for standard clients: a real chain, the anchoring drain, the DICOM listener
and the HTTP API (STOW-RS and ``/records``) served by uvicorn on loopback.

One per test module (start it in a module-scoped fixture): the chain process and the
contract deployment are the expensive part. Studies are made from pydicom's bundled samples
with fresh UIDs (:func:`make_study`), so no test depends on another's data.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydicom import dcmread
from pydicom.uid import generate_uid

from keys.keystore import Keystore
from keys.typing import RecordId
from node.api.app import create_app
from node.api.stow import stow_router
from node.bootstrap import open_parts, signing_account
from node.config import DimseSettings
from node.dimse.index import StudyIndex
from node.dimse.ingest import StandardIngest
from node.dimse.prior import KeyringPriorInstances
from node.dimse.server import DimseListener
from node.service import NodeService
from tests.gateway.server import serve
from tests.integration.nodeproc import PASSPHRASE
from tests.node.chain_env import API_TOKEN, CONSORTIUM_SECRET, SECRET_ENV, start_chain_env
from tests.node.dicom_samples import sample_path

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
NODE_AET = "LEDGER"
#: (sample, how many instances of it) of :func:`make_study`: uncompressed CT and MR, and
#: JPEG baseline and JPEG 2000 instances kept in their compressed transfer syntax.
STUDY_MIX = (("CT_small.dcm", 3), ("MR_small.dcm", 2), ("SC_rgb_jpeg_dcmtk.dcm", 1),
             ("JPEG2000.dcm", 1))  # fmt: skip


@dataclass
class LedgerNode:
    node: NodeService
    ingest: StandardIngest
    index: StudyIndex
    listener: DimseListener
    url: str
    keystore_dir: Path

    @property
    def dicom_port(self) -> int:
        return self.listener.port

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=AUTH, timeout=60.0)

    def wait_record(self, study_uid: str, *, timeout: float = 30.0,
                    other_than: RecordId | None = None) -> RecordId:  # fmt: skip
        """The study's latest record once the push is ingested (ingest runs at release)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            latest = self.index.latest(study_uid)
            if latest is not None and latest != other_than:
                return latest
            time.sleep(0.02)
        raise AssertionError(f"study not ingested within {timeout} s")

    def listener_idle(self, *, timeout: float = 30.0) -> None:
        """Wait until every association ended and its push was ingested."""
        deadline = time.monotonic() + timeout
        while self.listener.busy():
            assert time.monotonic() < deadline, "the DICOM listener stayed busy"
            time.sleep(0.02)

    def wait_anchored(self, record_id: RecordId, *, timeout: float = 30.0) -> dict[str, Any]:
        """``GET /records/{id}`` once it says anchored (read back through the node's API)."""
        deadline = time.monotonic() + timeout
        with self.http() as http:
            while time.monotonic() < deadline:
                status = http.get(f"/records/{record_id.hex()}")
                assert status.status_code == 200, status.text
                body: dict[str, Any] = status.json()
                if body["state"] == "anchored":
                    return body
                time.sleep(0.05)
        raise AssertionError(f"record not anchored within {timeout} s: {body}")

    def stored_instances(self, record_id: RecordId, directory: Path) -> dict[str, bytes]:
        """The record's instances decrypted from the blob store and verified, by SOP UID."""
        directory.mkdir(parents=True, exist_ok=True)
        prior = self.ingest.prior
        assert prior is not None
        prior.write_instances(record_id, directory, skip=set())
        return {p.stem: p.read_bytes() for p in directory.glob("*.dcm")}


@contextmanager
def ledger_node(root: Path, *, peers: list[dict[str, str]], max_associations: int = 4,
                max_dicom_bytes: int = 64 * 1024 * 1024,
                max_instance_bytes: int = 16 * 1024 * 1024,
                idle_timeout_s: float = 10.0) -> Iterator[LedgerNode]:  # fmt: skip
    os.environ[SECRET_ENV] = CONSORTIUM_SECRET
    env = start_chain_env(root, batch_size=64, interval_s=0.2)
    try:
        cfg = env.config()
        node = NodeService(open_parts(cfg, account=signing_account(cfg, PASSPHRASE)))
        keyring = Keystore.open(cfg.keystore_dir).load_keyring(PASSPHRASE)
        index = StudyIndex(cfg.data_dir / "studies.sqlite")
        prior = KeyringPriorInstances(outbox=node.outbox, blobs=node.parts.store.blobs,
                                      keyring=keyring)  # fmt: skip
        ingest = StandardIngest(node, index, prior)
        settings = DimseSettings.model_validate({
            "enabled": True, "port": 0, "aet": NODE_AET, "peers": peers,
            "max_associations": max_associations, "max_pdu_bytes": 64 * 1024,
            "max_instance_bytes": max_instance_bytes, "idle_timeout_s": idle_timeout_s,
        })  # fmt: skip
        listener = DimseListener(settings, ingest=ingest, spool_root=cfg.data_dir / "spool")
        api = cfg.settings.api.model_copy(update={"max_dicom_bytes": max_dicom_bytes})
        router = stow_router(ingest, spool_root=cfg.data_dir / "spool",
                             max_instance_bytes=max_instance_bytes,
                             max_body_bytes=max_dicom_bytes)  # fmt: skip
        node.start()
        listener.start()
        try:
            with serve(create_app(node, api=api, routers=[router])) as url:
                yield LedgerNode(node, ingest, index, listener, url, cfg.keystore_dir)
        finally:
            listener.stop()
            node.stop()
            index.close()
    finally:
        env.stop()


@dataclass(frozen=True)
class Study:
    uid: str
    files: list[Path]
    patient: str

    def sop_uids(self) -> set[str]:
        return {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in self.files}


def make_study(directory: Path, *, mix: tuple[tuple[str, int], ...] = STUDY_MIX,
               patient: str = "MRN-STD-1") -> Study:  # fmt: skip
    """A study of pydicom's samples with new UIDs, one series per sample, as Part 10 files."""
    directory.mkdir(parents=True, exist_ok=True)
    study_uid = generate_uid()
    files = []
    for sample, count in mix:
        series = generate_uid()
        for number in range(count):
            ds = dcmread(sample_path(sample))
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.PatientID, ds.InstanceNumber = patient, number + 1
            out = io.BytesIO()
            ds.save_as(out, enforce_file_format=True)
            path = directory / f"{len(files):04d}.dcm"
            path.write_bytes(out.getvalue())
            files.append(path)
    return Study(study_uid, files, patient)
