"""Private files created atomically: mode 0600 from birth, in 0700 directories.

A key file is written to a temporary name opened with ``O_CREAT | O_EXCL`` and mode 0600
(so it is never readable by others, not even for an instant), fsynced, then linked to its
final name — ``link`` fails if the name exists, so a key is never silently replaced.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from keys.exceptions import KeystoreError, KeystoreExists

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed and make sure only the owner can enter it."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise KeystoreError(f"{path} is not a directory")
    if stat.S_IMODE(info.st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)


def _write_temp(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # the umask can only remove bits, but be explicit
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_private_file(path: Path, data: bytes) -> None:
    """Write a new 0600 file; raise :class:`KeystoreExists` if ``path`` already exists."""
    tmp = _write_temp(path, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise KeystoreExists(f"{path} already exists; refusing to overwrite a key") from None
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def replace_private_file(path: Path, data: bytes) -> None:
    """Atomically replace (or create) a 0600 file: readers see the old or the new content."""
    tmp = _write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
