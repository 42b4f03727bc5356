"""WADO-RS bodies: instances streamed as ``multipart/related`` parts (RFC 2387).

Each instance is opened (and so verified by the case store) only when its turn comes,
which keeps memory flat for large studies. The first one is opened before the response
starts, so a missing or tampered first instance still gets a proper status. A later one
that fails verification aborts the body *without* the closing delimiter: the client sees
a truncated message, never a silently shortened study.

Every part carries ``Content-Location`` (the instance's WADO-RS URL) and its
``Content-Type`` names the transfer syntax of the bytes it holds.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from gateway.domain import InstanceHeader

CHUNK = 256 * 1024
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Part:
    """One instance ready to send: its bytes, their transfer syntax, where it lives."""

    stream: BinaryIO
    transfer_syntax: str
    location: str


Opener = Callable[[InstanceHeader], Part]


def new_boundary() -> str:
    """A random boundary: 128 bits make a collision with instance bytes negligible."""
    return secrets.token_hex(16)


def content_type(boundary: str) -> str:
    return f'multipart/related; type="application/dicom"; boundary={boundary}'


def _part_head(boundary: str, part: Part) -> bytes:
    return (
        f"--{boundary}\r\n"
        f"Content-Type: application/dicom; transfer-syntax={part.transfer_syntax}\r\n"
        f"Content-Location: {part.location}\r\n\r\n"
    ).encode("ascii")


def stream_parts(
    *,
    instances: Sequence[InstanceHeader],
    first: Part,
    open_instance: Opener,
    boundary: str,
) -> Iterator[bytes]:
    """The multipart body; ``first`` is the already opened ``instances[0]``."""
    current: Part | None = first
    try:
        for index, header in enumerate(instances):
            if current is None:
                try:
                    current = open_instance(header)
                except Exception:
                    log.error("aborting a WADO-RS body: part %d could not be served", index)
                    raise
            yield _part_head(boundary, current)
            while chunk := current.stream.read(CHUNK):
                yield chunk
            yield b"\r\n"
            current.stream.close()
            current = None
        yield f"--{boundary}--\r\n".encode("ascii")
    finally:
        if current is not None:
            current.stream.close()
