"""Real DICOM files for tests: pydicom's bundled samples, and studies built from them.

Only files shipped inside the pydicom wheel are used (``download=False``), so the tests never
touch the network.
"""

from __future__ import annotations

import io
from pathlib import Path

from pydicom import dcmread
from pydicom.data import get_testdata_file

STUDY_UID = "1.2.826.0.1.3680043.8.498.1"


def sample_path(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is not shipped with pydicom"
    return Path(str(path))


def sample_bytes(name: str) -> bytes:
    return sample_path(name).read_bytes()


def derived_instance(source: str, *, series: str, sop: str, study: str = STUDY_UID,
                     patient: str = "MRN-0042", drop: tuple[str, ...] = ()) -> bytes:  # fmt: skip
    """A real sample rewritten by pydicom with new UIDs (a genuine Part 10 file)."""
    ds = dcmread(sample_path(source))
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = sop
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.PatientID = patient
    for keyword in drop:
        delattr(ds, keyword)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def write_study(folder: Path) -> dict[str, bytes]:
    """Two series (MR x3, CT x2) of one study into ``folder``; returns name -> bytes."""
    files = {}
    for i in range(3):
        files[f"mr/{i}.dcm"] = derived_instance(
            "MR_small.dcm", series=f"{STUDY_UID}.1", sop=f"{STUDY_UID}.1.{i + 1}"
        )
    for i in range(2):
        files[f"ct/{i}.dcm"] = derived_instance(
            "CT_small.dcm", series=f"{STUDY_UID}.2", sop=f"{STUDY_UID}.2.{i + 1}"
        )
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return files
