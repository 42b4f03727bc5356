"""A streaming ``multipart/form-data`` body with one file part, for Kubo's ``/api/v0/add``.

httpx builds multipart bodies only from file objects; we stream from any iterable instead,
so a payload is never held whole in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator


def boundary() -> str:
    """A fresh boundary that cannot collide with content by chance."""
    return uuid.uuid4().hex


def file_part(source: Iterable[bytes], *, boundary: str, filename: str = "blob") -> Iterator[bytes]:
    """Yield the body: one part named ``file`` holding the bytes of ``source``."""
    yield (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode("ascii")
    for piece in source:
        if piece:
            yield piece
    yield f"\r\n--{boundary}--\r\n".encode("ascii")
