"""A large study through ``dicomweb-client``'s streaming retrieval, in bounded memory.

60 instances of ~512 KB (two series, ~31 MB) are served by a real uvicorn server on
loopback from ``FileCaseStore`` (files on disk, re-hashed on every open: it stands in for
the node-backed store and, like it, keeps no instance bytes). The client iterates the
study and one series (``iter_study``/``iter_series``: WADO-RS ``multipart/related``
streamed and decoded part by part). Client and server share this process, so the peak of
``tracemalloc`` bounds both: it must stay a small fraction of the study's size, i.e. the
gateway opens, verifies and sends one instance at a time.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from eth_account.signers.local import LocalAccount
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from gateway.domain import PhysicianStatus
from gateway.services.auth import token_digest
from keys.typing import GrantId
from tests.gateway.conftest import Gateway
from tests.gateway.fakes import grant_state
from tests.gateway.server import serve

pytestmark = pytest.mark.integration

GRANT = GrantId(b"\x07" * 32)
SERIES, PER_SERIES = 2, 30
#: Peak traced bytes allowed while ~31 MB stream through (one instance is ~0.5 MB).
PEAK_BOUND = 8 * 1024 * 1024


def _write_study(directory: Path) -> tuple[str, list[str], list[Path]]:
    ds = pydicom.dcmread(str(get_testdata_file("CT_small.dcm")))
    ds.StudyInstanceUID = study = generate_uid()
    ds.Rows = ds.Columns = 512
    rng = np.random.default_rng(6)
    series_uids, paths = [], []
    for s in range(SERIES):
        ds.SeriesInstanceUID = generate_uid()
        series_uids.append(str(ds.SeriesInstanceUID))
        for n in range(PER_SERIES):
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.InstanceNumber = n + 1
            ds.PixelData = rng.integers(0, 4096, (512, 512), dtype=np.uint16).tobytes()
            path = directory / f"s{s}-{n}.dcm"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return str(study), series_uids, paths


def test_a_large_study_and_series_stream_through_dicomweb_client_in_bounded_memory(
    gateway: Gateway, physician: LocalAccount, tmp_path: Path
) -> None:
    study, series, paths = _write_study(tmp_path)
    for path in paths:
        gateway.cases.add(GRANT, path)
    gateway.chain.grants[GRANT] = grant_state(GRANT, gateway.settings.hospital)
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    gateway.sessions.add_grant(token_digest(settings=gateway.settings, token=token), GRANT)
    total = sum(p.stat().st_size for p in paths)
    with serve(gateway.app) as base:
        client = DICOMwebClient(base + "/dicomweb", headers={"Authorization": f"Bearer {token}"})
        client.set_http_retry_params(retry=False)
        any_syntax = (("application/dicom", "*"),)
        tracemalloc.start()
        try:
            got = [(str(d.SeriesInstanceUID), int(d.InstanceNumber), len(d.PixelData))
                   for d in client.iter_study(study, media_types=any_syntax)]  # fmt: skip
            in_series = client.iter_series(study, series[1], media_types=any_syntax)
            one = [str(d.SOPInstanceUID) for d in in_series]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert total > 30 * 1024 * 1024
    expected = [(s, n + 1, 512 * 512 * 2) for s in series for n in range(PER_SERIES)]
    assert sorted(got) == sorted(expected)  # every instance once, whole pixel data
    assert len(one) == PER_SERIES and len(set(one)) == PER_SERIES
    assert peak < PEAK_BOUND, f"peak {peak / 2**20:.1f} MiB while streaming {total / 2**20:.0f}"
