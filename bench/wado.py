"""WADO-RS instance retrieval through our gateway versus Orthanc's DICOMweb, same study, same run.

Setup as ``bench/gateway.py`` does it (real processes: ``consortium init`` for a village
clinic and a county hospital, one validator, the contract suite, a node and a gateway per
hospital): the village ingests one study of two instances (a ~512 KB CT, 512x512 16-bit
pixels generated from pydicom's ``CT_small.dcm``, Explicit VR Little Endian; and pydicom's
``SC_rgb_rle.dcm``, RLE Lossless), refers the case and grants it to the county, whose
physician redeems the grant. Every read through our gateway goes the verified path:
ciphertext from the blob store, DEK unwrapped, decrypted, re-hashed against the anchor.
The same two files are uploaded to a Debian Orthanc (``tests/standards/orthanc.py``).

Measured with httpx (one keep-alive client per server), requests to ours and Orthanc's
interleaved in one bounded loop (``BENCH_WADO_N`` each, 100 by default), whole body read:

- ``instance``: the CT with ``Accept: multipart/related; type="application/dicom"`` (stored
  in the default syntax, so neither side transcodes);
- ``instance_transcoded``: the RLE instance with the same ``Accept``: both decode it to
  Explicit VR Little Endian on every request;
- ``instance_star``: the CT with ``transfer-syntax=*`` (Orthanc's plugin may take another
  path when no syntax is named);
- ``small_as_stored``: the RLE instance with ``transfer-syntax=*`` (no transcoding): the
  fixed per-request cost of each server, for reading the transcoded row.

p50/p99 (ms) for each server and ``ratio_p50`` = ours / Orthanc's. Goal (issue 16): ≤ 1.5.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from bench.gateway import Bench, _consortium, _ms
from medledger.consortium.local import LocalConsortium
from medledger.demo_setup import PASSPHRASE, deploy_suite_of, register_staff
from medledger.processes import process
from tests.standards.orthanc import have_orthanc, orthanc

N = int(os.environ.get("BENCH_WADO_N", "100"))
WAIT_S = 120.0
ACCEPT = 'multipart/related; type="application/dicom"'


def _instances() -> dict[str, bytes]:
    study = generate_uid()
    ct = pydicom.dcmread(str(get_testdata_file("CT_small.dcm")))
    ct.Rows = ct.Columns = 512
    ct.PixelData = np.random.default_rng(16).integers(0, 4096, (512, 512), np.uint16).tobytes()
    rle = pydicom.dcmread(str(get_testdata_file("SC_rgb_rle.dcm")))
    out = {}
    for name, ds in (("instance", ct), ("instance_transcoded", rle)):
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.PatientID = "BENCH-1"
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        out[name] = buf.getvalue()
    return out


def _ingest(bench: Bench, files: dict[str, bytes]) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in files.items():
            z.writestr(f"{name}.dcm", data)
    study = bench.ok(bench.village.post("/records/dicom", content=archive.getvalue(),
                                        headers={"Content-Type": "application/zip"}))  # fmt: skip
    deadline = time.monotonic() + WAIT_S
    while bench.ok(bench.village.get(f"/records/{study['record_id']}"))["state"] != "anchored":
        if time.monotonic() > deadline:
            raise RuntimeError("study not anchored in time")
        time.sleep(0.2)
    bench.ok(bench.village.post(f"/cases/{bench.case}/records",
                                json={"record_ids": [study["record_id"]]}))  # fmt: skip


def _path(data: bytes) -> str:
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return (f"/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
            f"/instances/{ds.SOPInstanceUID}")  # fmt: skip


def _get(client: httpx.Client, path: str, accept: str = ACCEPT) -> float:
    start = time.perf_counter()
    resp = client.get(path, headers={"Accept": accept})
    elapsed = time.perf_counter() - start
    if resp.status_code != 200 or (
        b"transfer-syntax" not in resp.content[:4096] and not (resp.content.startswith(b"--"))
    ):
        raise RuntimeError(f"GET {path}: {resp.status_code} {resp.text[:200]}")
    return elapsed


def _compare(ours: httpx.Client, theirs: httpx.Client, paths: dict[str, str],
             accept: str = ACCEPT) -> dict[str, Any]:  # fmt: skip
    for client, prefix in ((ours, "/dicomweb"), (theirs, "/dicom-web")):  # warm both up
        _get(client, prefix + paths["path"], accept)
    times: dict[str, list[float]] = {"ours": [], "orthanc": []}
    for _ in range(N):
        times["ours"].append(_get(ours, "/dicomweb" + paths["path"], accept))
        times["orthanc"].append(_get(theirs, "/dicom-web" + paths["path"], accept))
    result = {who: _ms(values) for who, values in times.items()}
    result["ratio_p50"] = round(result["ours"]["p50_ms"] / result["orthanc"]["p50_ms"], 2)
    result["bytes_stored"] = int(paths["size"])
    return result


def run() -> dict[str, Any]:
    if not have_orthanc():
        raise RuntimeError("Debian's orthanc and orthanc-dicomweb are needed (make test installs)")
    files = _instances()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="medledger-bench-wado-") as tmp:
        root = Path(tmp) / "consortium"
        demo = _consortium(root)
        with LocalConsortium(root, passphrase=PASSPHRASE) as local, \
                orthanc(Path(tmp) / "orthanc") as pacs:  # fmt: skip
            local.start(process("ledger"))
            deploy_suite_of(demo)
            register_staff(demo)
            local.start(process("node"))
            local.start(process("gateway"))
            bench = Bench(demo)
            _ingest(bench, files)
            bench.refer()
            token = bench.grant()
            ours = bench.session(demo.physicians["county"])
            bench.ok(ours.post("/grants/redeem", json={"token": token}))
            for data in files.values():
                pacs.upload(data)
            with pacs.client() as theirs:
                results = {
                    name: _compare(ours, theirs, {"path": _path(data), "size": str(len(data))})
                    for name, data in files.items()
                }
                for name, data in (("instance_star", files["instance"]),
                                   ("small_as_stored", files["instance_transcoded"])):  # fmt: skip
                    results[name] = _compare(
                        ours, theirs, {"path": _path(data), "size": str(len(data))},
                        ACCEPT + "; transfer-syntax=*",
                    )  # fmt: skip
    return {
        "setup": {
            "requests_per_server": N,
            "accept": ACCEPT,
            "cores": os.cpu_count(),
            "interleaved": True,
            "load_average_1m": {
                "before": round(load_before, 2),
                "after": round(os.getloadavg()[0], 2),
            },
        },
        **results,
        "target": {"ratio_p50_at_most": 1.5},
        "note": "ours: gateway over the real node (decrypt + re-hash per read); Orthanc: its "
        "DICOMweb plugin over its own storage; same machine, same run, 2 shared cores",
    }
