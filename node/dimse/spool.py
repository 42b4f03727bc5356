"""Received instances on disk, one folder per study, until their study is ingested.

Each instance is checked as it arrives (size limit, pydicom parse, completeness: the checks
of :func:`node.formats.dicom.read_instance`), so a malformed one is refused on its own with
a failure status while the rest of the push goes on. An accepted instance is kept as
``<StudyInstanceUID>/<SOPInstanceUID>.dcm``; the UIDs were validated (digits and dots), so
they are safe file names. Only one instance at a time is ever in memory.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from node.dimse.exceptions import InstanceTooLarge
from node.exceptions import DuplicateDicomInstance, NotDicom, PatientUnresolved
from node.formats.dicom import DicomInstance, DicomStudy, read_instance
from node.formats.dicom_archive import DicomLimits

#: pydicom's read settings are process-wide and :func:`read_instance` switches its value
#: warnings off for the read (they quote values: patient data) and back on after; two reads
#: at once could leave one running with them on. Associations and STOW-RS requests run on
#: threads, so every parse of the standard ways in takes this lock.
PARSE_LOCK = threading.Lock()


def sweep_spools(root: Path) -> int:
    """Delete the spools a stopped node left behind (plaintext instances); return how many.

    Their instances were acknowledged but never ingested: the sender must push them again
    (a PACS retries a failed route; an acknowledged push lost in a crash is not retried).
    """
    if not root.is_dir():
        return 0
    stale = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("spool-")]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)


@dataclass(frozen=True, slots=True)
class Accepted:
    """An instance kept in the spool: the UIDs its study is grouped and answered by."""

    study_uid: str
    sop_uid: str


class Spool:
    """One association's (or one STOW-RS request's) instances, by study, in a temp folder."""

    def __init__(self, root: Path, *, max_instance_bytes: int) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(dir=root, prefix="spool-"))
        self.max_instance_bytes = max_instance_bytes
        self.count = 0
        #: What :meth:`add` learnt of each kept instance, so ingest need not parse it again.
        self._seen: dict[str, dict[str, tuple[DicomInstance, str | None]]] = {}

    def add(self, data: bytes, *, source: Path | None = None) -> Accepted:
        """Check one Part 10 instance and keep it.

        ``source``, the file ``data`` was read from, is moved into place rather than the
        bytes written again.

        Raises
        ------
        InstanceTooLarge, NotDicom, TruncatedDicom, MissingDicomUid, InvalidDicom,
        DuplicateDicomInstance
            Nothing is kept.
        """
        if len(data) > self.max_instance_bytes:
            raise InstanceTooLarge(f"an instance is larger than {self.max_instance_bytes} bytes")
        with PARSE_LOCK:
            parsed = read_instance(data, name="the instance")
        if parsed is None:
            raise NotDicom("a DICOMDIR is an index, not an instance to store")
        study_uid, patient, inst = parsed
        inst = replace(inst, name=f"{inst.sop_uid}.dcm")  # its name in the study folder
        folder = self.directory / study_uid
        folder.mkdir(exist_ok=True)
        target = folder / f"{inst.sop_uid}.dcm"
        if target.exists():
            if hashlib.sha256(target.read_bytes()).digest() != inst.content_hash:
                raise DuplicateDicomInstance("an instance reuses the SOPInstanceUID of another")
            return Accepted(study_uid, inst.sop_uid)
        if source is not None:
            source.replace(target)
        else:
            partial = target.with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(target)
        self.count += 1
        self._seen.setdefault(study_uid, {})[inst.sop_uid] = (inst, patient)
        return Accepted(study_uid, inst.sop_uid)

    def forget(self, accepted: Accepted) -> None:
        """Drop a kept instance (a STOW-RS part that turned out to be of another study)."""
        (self.directory / accepted.study_uid / f"{accepted.sop_uid}.dcm").unlink(missing_ok=True)
        self._seen.get(accepted.study_uid, {}).pop(accepted.sop_uid, None)

    def study(self, folder: Path) -> DicomStudy:
        """The study of one folder, as :func:`node.formats.dicom.read_study` would read it.

        Built from what :meth:`add` checked: every file in the folder came through it.

        Raises
        ------
        PatientUnresolved
            The instances name different patients.
        """
        seen = self._seen.get(folder.name, {})
        patients = {patient for _, patient in seen.values() if patient is not None}
        if len(patients) > 1:
            raise PatientUnresolved("the study's instances name different patients")
        ordered = sorted((inst for inst, _ in seen.values()),
                         key=lambda i: (i.series_uid, i.sop_uid))  # fmt: skip
        return DicomStudy(folder.name, tuple(ordered), patients.pop() if patients else None,
                          folder, DicomLimits())  # fmt: skip

    def studies(self) -> list[Path]:
        """The study folders holding at least one instance, in UID order."""
        return sorted(p for p in self.directory.iterdir() if p.is_dir() and any(p.glob("*.dcm")))

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
