"""DICOM ingest by the standards: our node versus Orthanc, same machine, same run, same study.

A study of 60 instances made from pydicom's bundled samples (uncompressed RGB, palette and CT
images and JPEG baseline ones, about 9 MB) is pushed with fresh UIDs each time:

- ``cstore``: dcmtk's ``storescu`` (one association, ``-xy`` so JPEG goes as it is) into our
  node's DICOM port (``medledger node run`` with the listener on) and into Orthanc's. Ours
  counts until the study record is durably queued for anchoring (the node ingests at
  release: parse, encrypt each instance, store, outbox), read from the node's study index;
  Orthanc's until ``storescu`` exits (Orthanc stores each instance before answering it).
  ``ours_anchored_s`` adds the wait until the record's batch is final on chain.
- ``stow``: one STOW-RS request (``multipart/related``, the body built before the clock
  starts) to our ``POST /studies`` and to Orthanc's DICOMweb ``/dicom-web/studies``; both
  answer once stored (ours: once queued for anchoring).

Runs alternate ours / Orthanc, three of each; the medians and ours/Orthanc ratios are
reported (the issue's goal: ingest >= 0.5x Orthanc's while also encrypting and anchoring).
The chain runs as its own process; everything shares the machine's cores.
"""

from __future__ import annotations

import io
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydicom import dcmread
from pydicom.uid import generate_uid

from node.config import DicomPeer, DimseSettings, load_config, write_config
from tests.integration.node_service_proc import NodeServiceProcess, start_node_service
from tests.node.chain_env import CONSORTIUM_SECRET, SECRET_ENV, start_chain_env
from tests.node.dicom_samples import sample_path
from tests.standards.orthanc import Orthanc, free_port, orthanc

MIX = (("examples_rgb_color.dcm", 15), ("examples_palette.dcm", 15),
       ("SC_rgb_jpeg_dcmd.dcm", 10), ("CT_small.dcm", 20))  # fmt: skip
RUNS = int(os.environ.get("BENCH_STANDARDS_RUNS", "3"))
NODE_AET, BENCH_AET = "LEDGER", "BENCH"


def _study(folder: Path) -> tuple[str, list[Path], int]:
    folder.mkdir(parents=True)
    study_uid, files, size = generate_uid(), [], 0
    for sample, count in MIX:
        series = generate_uid()
        for number in range(count):
            ds = dcmread(sample_path(sample))
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.PatientID, ds.InstanceNumber = "BENCH-PATIENT", number + 1
            out = io.BytesIO()
            ds.save_as(out, enforce_file_format=True)
            path = folder / f"{len(files):03d}.dcm"
            path.write_bytes(out.getvalue())
            files.append(path)
            size += len(out.getvalue())
    return study_uid, files, size


def _storescu(port: int, aet: str, files: list[Path]) -> None:
    argv = ["storescu", "-xy", "-aet", BENCH_AET, "-aec", aet, "127.0.0.1", str(port)]
    done = subprocess.run([*argv, *map(str, files)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"storescu failed: {done.stderr[-2000:]}")


def _latest(index: Path, study_uid: str) -> str | None:
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as db:
        row = db.execute("SELECT record_id FROM study_versions WHERE study_uid = ?",
                         (study_uid,)).fetchone()  # fmt: skip
    return None if row is None else bytes(row[0]).hex()


def _wait(predicate: Any, timeout: float = 600) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := predicate()) is not None:
            return value
        time.sleep(0.005)
    raise TimeoutError("not done in time")


def _anchored(node: NodeServiceProcess, record: str) -> bool | None:
    with node.client() as http:
        return True if http.get(f"/records/{record}").json()["state"] == "anchored" else None


def _multipart(files: list[Path]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b"".join(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
                    + p.read_bytes() + b"\r\n" for p in files)  # fmt: skip
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    return body + f"--{boundary}--\r\n".encode(), ctype


def _stow(url: str, files: list[Path], headers: dict[str, str]) -> tuple[float, httpx.Response]:
    body, ctype = _multipart(files)
    with httpx.Client(timeout=600) as http:
        start = time.perf_counter()
        resp = http.post(url, content=body, headers={**headers, "Content-Type": ctype})
        elapsed = time.perf_counter() - start
    if resp.status_code != 200:
        raise RuntimeError(f"STOW to {url} answered {resp.status_code}: {resp.text[:500]}")
    return elapsed, resp


def _one_round(tmp: Path, i: int, node: NodeServiceProcess, index: Path, dicom_port: int,
               pacs: Orthanc, auth: dict[str, str]) -> dict[str, float]:  # fmt: skip
    out: dict[str, float] = {}
    uid, files, size = _study(tmp / f"ours-cstore-{i}")
    start = time.perf_counter()
    _storescu(dicom_port, NODE_AET, files)
    out["ours_storescu_s"] = time.perf_counter() - start
    record = _wait(lambda: _latest(index, uid))
    out["ours_cstore_s"] = time.perf_counter() - start
    _wait(lambda: _anchored(node, record))
    out["ours_anchored_s"] = time.perf_counter() - start
    _, files, _ = _study(tmp / f"orthanc-cstore-{i}")
    start = time.perf_counter()
    _storescu(pacs.dicom_port, pacs.aet, files)
    out["orthanc_cstore_s"] = time.perf_counter() - start
    _, files, _ = _study(tmp / f"ours-stow-{i}")
    out["ours_stow_s"], _ = _stow(f"{node.url}/studies", files, auth)
    _, files, _ = _study(tmp / f"orthanc-stow-{i}")
    out["orthanc_stow_s"], _ = _stow(f"{pacs.dicomweb_url}/studies", files, {})
    out["study_bytes"] = size
    return out


def run() -> dict[str, Any]:
    os.environ[SECRET_ENV] = CONSORTIUM_SECRET
    with tempfile.TemporaryDirectory(prefix="bench-standards-") as tmp_name:
        tmp = Path(tmp_name)
        env = start_chain_env(tmp / "env", batch_size=256, interval_s=0.2)
        try:
            cfg = env.config()
            dicom_port = free_port()
            dimse = DimseSettings(enabled=True, port=dicom_port, aet=NODE_AET,
                                  peers=(DicomPeer(aet=BENCH_AET),))  # fmt: skip
            write_config(env.config_path, cfg.settings.model_copy(update={"dimse": dimse}))
            node = start_node_service(env.config_path)
            index = load_config(env.config_path).data_dir / "studies.sqlite"
            try:
                with orthanc(tmp / "orthanc") as pacs:
                    auth = dict(node.client().headers)
                    auth = {"Authorization": auth["authorization"]}
                    rounds = [_one_round(tmp, i, node, index, dicom_port, pacs, auth)
                              for i in range(RUNS)]  # fmt: skip
            finally:
                node.stop()
        finally:
            env.stop()
    return _summary(rounds)


def _summary(rounds: list[dict[str, float]]) -> dict[str, Any]:
    size = rounds[0]["study_bytes"]
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0] if k != "study_bytes"}

    def mbps(key: str) -> float:
        return round(size / 1e6 / median[key], 2)

    return {
        "study": {"instances": sum(n for _, n in MIX), "bytes": size,
                  "samples": [s for s, _ in MIX]},
        "runs": RUNS,
        "cstore": {"ours_mb_s": mbps("ours_cstore_s"), "orthanc_mb_s": mbps("orthanc_cstore_s"),
                   "ratio": round(median["orthanc_cstore_s"] / median["ours_cstore_s"], 2),
                   "ours_storescu_only_mb_s": mbps("ours_storescu_s"),
                   "ours_until_anchored_mb_s": mbps("ours_anchored_s")},
        "stow": {"ours_mb_s": mbps("ours_stow_s"), "orthanc_mb_s": mbps("orthanc_stow_s"),
                 "ratio": round(median["orthanc_stow_s"] / median["ours_stow_s"], 2)},
        "median_s": {k: round(v, 4) for k, v in median.items()},
        "rounds_s": [{k: round(v, 4) for k, v in r.items()} for r in rounds],
    }  # fmt: skip
