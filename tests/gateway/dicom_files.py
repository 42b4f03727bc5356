"""Real DICOM test files (pydicom's own), arranged as the studies of two grants."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid


@dataclass(frozen=True)
class Files:
    ct_series: list[Path]  # one CT series of three instances (from CT_small.dcm)
    mr: Path  # MR_small.dcm, another study
    rtplan: Path  # rtplan.dcm, Implicit VR Little Endian
    other_grant: Path  # JPEG2000.dcm: belongs to a grant the session never redeemed


def _testdata(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom test file {name} missing"
    return Path(str(path))


def make_files(directory: Path) -> Files:
    source = pydicom.dcmread(_testdata("CT_small.dcm"))
    series = []
    for number in (1, 2, 3):
        source.SOPInstanceUID = generate_uid()
        source.file_meta.MediaStorageSOPInstanceUID = source.SOPInstanceUID
        source.InstanceNumber = number
        path = directory / f"ct{number}.dcm"
        source.save_as(path, enforce_file_format=True)
        series.append(path)
    copies = {}
    for name in ("MR_small.dcm", "rtplan.dcm", "JPEG2000.dcm"):
        copies[name] = directory / name
        copies[name].write_bytes(_testdata(name).read_bytes())
    return Files(series, copies["MR_small.dcm"], copies["rtplan.dcm"], copies["JPEG2000.dcm"])
