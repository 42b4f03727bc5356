"""The Orthanc the standards tests start is a working PACS (a check of the harness itself).

If this fails, every comparison against Orthanc in tests/standards means nothing, so it
checks what those tests lean on: REST upload, DICOMweb (QIDO and WADO-RS) and the DICOM port
answering dcmtk's C-ECHO and C-STORE.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pydicom
import pytest

from tests.gateway.dicom_files import Files, make_files
from tests.standards.orthanc import Orthanc, have_orthanc, orthanc

pytestmark = pytest.mark.skipif(
    not have_orthanc() or shutil.which("storescu") is None,
    reason="Debian's orthanc, orthanc-dicomweb and dcmtk are installed by make test",
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return make_files(tmp_path_factory.mktemp("dicom"))


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    with orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


def test_rest_upload_is_served_back_over_dicomweb(pacs: Orthanc, files: Files) -> None:
    sent = pydicom.dcmread(files.mr)
    pacs.upload(files.mr.read_bytes())
    study = str(sent.StudyInstanceUID)
    found = httpx.get(f"{pacs.dicomweb_url}/studies", params={"StudyInstanceUID": study})
    assert found.status_code == 200, found.text
    assert [s["0020000D"]["Value"][0] for s in found.json()] == [study]
    metadata = httpx.get(f"{pacs.dicomweb_url}/studies/{study}/metadata")
    assert metadata.status_code == 200
    assert metadata.json()[0]["00080018"]["Value"] == [str(sent.SOPInstanceUID)]


def test_dicom_port_takes_dcmtk_echo_and_store(pacs: Orthanc, files: Files) -> None:
    port = str(pacs.dicom_port)
    echo = subprocess.run(
        ["echoscu", "-aec", pacs.aet, "127.0.0.1", port], capture_output=True, timeout=30
    )
    assert echo.returncode == 0, echo.stderr
    store = subprocess.run(
        ["storescu", "-aec", pacs.aet, "127.0.0.1", port, *map(str, files.ct_series)],
        capture_output=True,
        timeout=60,
    )
    assert store.returncode == 0, store.stderr
    sent = {str(pydicom.dcmread(p).SOPInstanceUID) for p in files.ct_series}
    assert sent <= pacs.sop_instance_uids()


def test_unknown_port_is_refused(tmp_path: Path) -> None:
    """dcmtk reports a failed association (the harness would notice a dead Orthanc)."""
    from tests.standards.orthanc import free_port

    echo = subprocess.run(
        ["echoscu", "127.0.0.1", str(free_port())], capture_output=True, timeout=30
    )
    assert echo.returncode != 0
