"""Reading the files of a DICOM study from a folder, a zip archive or a single file, safely.

Nothing is extracted to disk: zip members are read into memory, so a hostile name cannot
write anywhere; names that would escape an extraction directory (absolute, ``..``, drive
letters), symlinks and encrypted members are still refused, because an archive carrying them
is not a study export. Bombs are bounded by limits checked on the declared sizes *and* on the
bytes actually read (a member lying about its size is refused), by a compression-ratio cap and
by a member count. In a folder, symlinks are refused rather than followed.
"""

from __future__ import annotations

import lzma
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from node.exceptions import EmptyStudy, InvalidDicom, PayloadTooLarge, UnsafeArchive

#: What reading a damaged or exotic member raises besides ``BadZipFile``: an unknown
#: compression method (``NotImplementedError``), a corrupt deflate/LZMA stream, bz2's
#: ``OSError``, a cut stream (``EOFError``). Each means "this member cannot be read".
_MEMBER_ERRORS = (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, zlib.error,
                  lzma.LZMAError)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DicomLimits:
    """Bounds on one ingest; the defaults fit a large CT study."""

    max_file_bytes: int = 1 << 30
    max_total_bytes: int = 8 << 30
    max_files: int = 20_000
    max_compression_ratio: int = 200


def _check_member_name(name: str) -> None:
    unix = name.replace("\\", "/")
    parts = PurePosixPath(unix).parts
    if unix.startswith("/") or (len(unix) > 1 and unix[1] == ":") or ".." in parts:
        raise UnsafeArchive(f"zip member {name!r} would escape the archive")


class _Budget:
    def __init__(self, limits: DicomLimits) -> None:
        self.limits = limits
        self.files = 0
        self.total = 0

    def take(self, size: int, name: str) -> None:
        self.files += 1
        self.total += size
        if self.files > self.limits.max_files:
            raise PayloadTooLarge(f"more than {self.limits.max_files} files in one study")
        if size > self.limits.max_file_bytes:
            raise PayloadTooLarge(f"{name} is larger than {self.limits.max_file_bytes} bytes")
        if self.total > self.limits.max_total_bytes:
            raise PayloadTooLarge(f"the study is larger than {self.limits.max_total_bytes} bytes")


def _zip_members(path: Path, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise InvalidDicom(f"{path.name} is not a readable zip archive") from None
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            _check_member_name(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeArchive(f"zip member {info.filename!r} is a symlink")
            if info.flag_bits & 0x1:
                raise UnsafeArchive(f"zip member {info.filename!r} is encrypted")
            budget.take(info.file_size, info.filename)
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > budget.limits.max_compression_ratio:
                raise UnsafeArchive(f"zip member {info.filename!r} expands {ratio:.0f}x")
            try:
                with archive.open(info) as member:
                    data = member.read(info.file_size + 1)
            except _MEMBER_ERRORS:
                raise InvalidDicom(f"zip member {info.filename!r} is corrupt or uses an "
                                   "unsupported compression method") from None  # fmt: skip
            if len(data) != info.file_size:
                raise UnsafeArchive(f"zip member {info.filename!r} lies about its size")
            yield info.filename, data


def _folder_files(root: Path, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in [*sorted(filenames), *dirnames]:
            full = Path(dirpath, name)
            if full.is_symlink():
                raise UnsafeArchive(f"{full.relative_to(root)} is a symlink; copy the file")
        for name in sorted(filenames):
            full = Path(dirpath, name)
            rel = str(full.relative_to(root))
            budget.take(full.stat().st_size, rel)
            yield rel, full.read_bytes()


def study_files(path: Path, *, limits: DicomLimits) -> Iterator[tuple[str, bytes]]:
    """Yield ``(name, bytes)`` of every file of a study folder, zip archive or single file.

    Raises
    ------
    EmptyStudy, PayloadTooLarge, UnsafeArchive, InvalidDicom
        Before yielding an offending member.
    """
    budget = _Budget(limits)
    if path.is_symlink():
        raise UnsafeArchive(f"{path.name} is a symlink")
    if path.is_dir():
        yield from _folder_files(path, budget)
    elif zipfile.is_zipfile(path):
        yield from _zip_members(path, budget)
    elif path.is_file():
        budget.take(path.stat().st_size, path.name)
        yield path.name, path.read_bytes()
    else:
        raise EmptyStudy(f"{path} is neither a folder, a zip archive nor a file")
    if budget.files == 0:
        raise EmptyStudy(f"{path.name} holds no files")
