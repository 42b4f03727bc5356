"""DICOM studies: read instances with pydicom, group them, refuse what cannot be anchored.

A study is ingested as one record: every instance's bytes exactly as stored (no
re-encoding, so the hash a recipient recomputes is over the file it receives), identified by
StudyInstanceUID / SeriesInstanceUID / SOPInstanceUID and anchored through the study tree of
:mod:`node.proof.study_tree`. Files are read one at a time, twice: once to validate and hash the
whole study (nothing is stored unless every file passes), once to encrypt and store, checking
each file still has the hash the tree was built from.

pydicom reads each file completely (not ``stop_before_pixels``): the pixel data is usually
the last element, and reading it is how a truncated image is detected.

Truncation: pydicom reads a cut file without complaint (it stops at end of file), so this
module checks what a complete file must satisfy: every top-level value as long as its
header says, the last element ending at the last byte, and an image object (any "... Image
Storage" SOP class, or RT Dose) carrying pixel data. A file cut exactly between two
elements of a non-image object is structurally complete and cannot be detected: DICOM Part
10 has no end marker or overall checksum.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom import config, dcmread
from pydicom.dataelem import RawDataElement
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from node.exceptions import (
    DuplicateDicomInstance,
    EmptyStudy,
    InvalidDicom,
    MissingDicomUid,
    MultipleStudies,
    NotDicom,
    PatientUnresolved,
    TruncatedDicom,
)
from node.formats.dicom_archive import DicomLimits, study_files
from node.proof.study_tree import StudyTree, is_valid_uid
from node.typing import ContentHash

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # DICOMDIR: an index, not an instance
_UNDEFINED = 0xFFFFFFFF
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)


@dataclass(frozen=True, slots=True)
class DicomInstance:
    """One instance: its UIDs, the hash and size of its bytes as stored, and where it is.

    The bytes themselves are not kept (a CT study can be gigabytes): ingest reads them again,
    one file at a time, through :meth:`DicomStudy.instance_bytes`. ``name`` is the path in the
    folder or archive; names can carry patient data, so they are never logged.
    """

    series_uid: str
    sop_uid: str
    content_hash: ContentHash
    size: int
    name: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class DicomStudy:
    """The instances of one study and the local patient id they name (if any)."""

    study_uid: str
    instances: tuple[DicomInstance, ...]
    patient_id: str | None = field(repr=False)
    source: Path = field(repr=False)
    limits: DicomLimits = field(repr=False)

    def tree(self) -> StudyTree:
        series: dict[str, dict[str, bytes]] = {}
        for inst in self.instances:
            series.setdefault(inst.series_uid, {})[inst.sop_uid] = inst.content_hash
        return StudyTree(self.study_uid, series)

    def instance_bytes(self) -> Iterator[tuple[DicomInstance, bytes]]:
        """Read the study's files again, one at a time, yielding each instance's bytes.

        Raises
        ------
        InvalidDicom
            If a file changed or disappeared since :func:`read_study` (its bytes no longer
            hash to what the study tree was built from).
        """
        by_name = {inst.name: inst for inst in self.instances}
        seen = 0
        for name, data in study_files(self.source, limits=self.limits):
            inst = by_name.get(name)
            if inst is None:
                continue  # a DICOMDIR, or a second copy of an instance
            if hashlib.sha256(data).digest() != inst.content_hash:
                raise InvalidDicom(f"{name} changed while the study was being ingested")
            seen += 1
            yield inst, data
        if seen != len(self.instances):
            raise InvalidDicom("a file of the study disappeared while it was being ingested")


def _check_complete(ds: Any, data: bytes, name: str) -> None:
    elements = list(ds._dict.values())
    if not elements:
        raise TruncatedDicom(f"{name} is truncated (file meta but no data set)")
    for elem in elements:
        if (isinstance(elem, RawDataElement) and elem.length != _UNDEFINED
                and elem.value is not None and len(elem.value) != elem.length):  # fmt: skip
            raise TruncatedDicom(f"{name} is truncated (a value is shorter than its header says)")
    last = elements[-1]
    deflated = ds.file_meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian
    if isinstance(last, RawDataElement) and not deflated:
        size = last.length if last.length != _UNDEFINED else len(last.value or b"") + 8
        if last.value_tell + size != len(data):
            raise TruncatedDicom(f"{name} is truncated (it ends inside a data element)")
    sop_class = str(ds.file_meta.get("MediaStorageSOPClassUID") or ds.get("SOPClassUID") or "")
    kind = UID(sop_class).name if sop_class else ""
    is_image = "Image Storage" in kind or kind == "RT Dose Storage"
    if is_image and not any(tag in ds._dict for tag in _PIXEL_TAGS):
        raise TruncatedDicom(f"{name} is truncated (an image without pixel data)")


def _uid(ds: Any, keyword: str, name: str) -> str:
    value = str(ds.get(keyword) or "").strip("\x00 ")
    if not is_valid_uid(value):
        raise MissingDicomUid(f"{name} has no valid {keyword}")
    return value


@contextmanager
def _quiet_pydicom() -> Iterator[None]:
    """Silence pydicom's value-validation warnings while we read.

    pydicom warns *and logs* invalid element values, quoting them, and a value can be a
    patient's name: nothing read here may reach a log. Validation of values is not what we
    need from pydicom (we anchor the bytes as stored), so it is switched off for the read and
    restored after (pydicom's setting is process-wide: reads are not meant to run in threads).
    """
    previous = config.settings.reading_validation_mode
    config.settings.reading_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        config.settings.reading_validation_mode = previous


def read_instance(data: bytes, *, name: str) -> tuple[str, str | None, DicomInstance] | None:
    """Parse one file: ``(study_uid, patient_id, instance)``, or ``None`` for a DICOMDIR.

    Raises
    ------
    NotDicom, TruncatedDicom, MissingDicomUid, InvalidDicom
    """
    with _quiet_pydicom():
        return _read_instance(data, name)


def _read_instance(data: bytes, name: str) -> tuple[str, str | None, DicomInstance] | None:
    # pydicom converts values lazily, so a bad element can raise at any later access (the
    # file meta, a UID), not only in ``dcmread``: the whole parse maps pydicom's errors.
    try:
        return _parse_instance(data, name)
    except InvalidDicomError:
        raise NotDicom(f"{name} is not a DICOM file (no DICM header)") from None
    except (EOFError, struct.error, BytesLengthException, OSError, ValueError):
        raise TruncatedDicom(f"{name} is truncated or corrupt (pydicom cannot parse it)") from None
    except NotImplementedError:  # pydicom's answer to an unknown value representation
        raise InvalidDicom(f"{name} has an element of unknown value representation") from None


def _parse_instance(data: bytes, name: str) -> tuple[str, str | None, DicomInstance] | None:
    ds = dcmread(io.BytesIO(data))
    if str(ds.file_meta.get("MediaStorageSOPClassUID", "")) == MEDIA_STORAGE_DIRECTORY:
        return None
    _check_complete(ds, data, name)
    study, series, sop = (_uid(ds, k, name) for k in
                          ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"))  # fmt: skip
    patient = str(ds.get("PatientID") or "").strip() or None
    digest = ContentHash(hashlib.sha256(data).digest())
    return study, patient, DicomInstance(series, sop, digest, len(data), name)


def read_study(path: Path, *, limits: DicomLimits | None = None) -> DicomStudy:
    """Read one study from a folder, a zip archive or a single instance file.

    Every file must be a DICOM instance of the same study (a DICOMDIR index is skipped);
    anything else refuses the whole study, so nothing partial is ever ingested.

    Raises
    ------
    NotDicom, TruncatedDicom, MissingDicomUid, MultipleStudies, DuplicateDicomInstance,
    EmptyStudy, UnsafeArchive, PayloadTooLarge, PatientUnresolved, InvalidDicom
    """
    limits = limits or DicomLimits()
    studies: set[str] = set()
    patients: set[str] = set()
    by_sop: dict[str, DicomInstance] = {}
    for name, data in study_files(path, limits=limits):
        parsed = read_instance(data, name=name)
        if parsed is None:
            continue
        study, patient, inst = parsed
        studies.add(study)
        if len(studies) > 1:
            raise MultipleStudies("the input holds more than one study; ingest one at a time")
        if patient is not None:
            patients.add(patient)
        prior = by_sop.get(inst.sop_uid)
        if prior is not None and prior.content_hash != inst.content_hash:
            raise DuplicateDicomInstance(f"{name} reuses the SOPInstanceUID of another file")
        by_sop.setdefault(inst.sop_uid, inst)
    if not by_sop:
        raise EmptyStudy("no DICOM instance found")
    if len(patients) > 1:
        raise PatientUnresolved("the study's instances name different patients")
    logging.getLogger(__name__).debug("read a study of %d instances", len(by_sop))
    ordered = sorted(by_sop.values(), key=lambda i: (i.series_uid, i.sop_uid))
    patient_id = patients.pop() if patients else None
    return DicomStudy(studies.pop(), tuple(ordered), patient_id, path, limits)
