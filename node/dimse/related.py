"""A ``multipart/related`` body (RFC 2387, as STOW-RS sends it) parsed as it streams in.

python-multipart's :class:`~python_multipart.multipart.MultipartParser` does the parsing
(boundary scanning, part headers); this module writes each part's bytes to a file of its own
as they arrive, so a request is never held in memory, and refuses a part over the
per-instance limit as soon as it grows past it. A body that ends before its closing
delimiter, or that python-multipart cannot parse, is a :class:`BadMultipart`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from node.dimse.exceptions import DimseError

DICOM = "application/dicom"
_MAX_HEADER_BYTES = 8 * 1024


class BadMultipart(DimseError):
    """The body is not a well-formed ``multipart/related`` message."""


class UnsupportedMedia(DimseError):
    """The request's media type is not ``multipart/related; type="application/dicom"``."""


def boundary_of(content_type: str | None) -> str:
    """The boundary of a STOW-RS request's ``Content-Type``.

    Raises
    ------
    UnsupportedMedia
        Not ``multipart/related``, or a ``type`` parameter other than ``application/dicom``
        (DICOM JSON/XML metadata with bulk data is not accepted).
    BadMultipart
        No boundary.
    """
    kind, params = parse_options_header(content_type or "")
    if kind.lower() != b"multipart/related":
        raise UnsupportedMedia('send multipart/related; type="application/dicom"')
    root = params.get(b"type", DICOM.encode()).decode("latin-1").strip('"').lower()
    if root != DICOM:
        raise UnsupportedMedia(f"only type={DICOM} parts are accepted, not {root}")
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadMultipart("the multipart/related Content-Type names no boundary")
    return boundary.decode("latin-1")


@dataclass
class Part:
    """One part of the body: its media type and the file holding its bytes."""

    content_type: str
    path: Path
    size: int = 0
    #: Set when the part grew past the limit: its bytes were dropped, it is refused.
    too_large: bool = False
    _file: IO[bytes] | None = field(default=None, repr=False)


class RelatedReader:
    """Feed the body's chunks; :attr:`parts` lists the parts written under ``directory``."""

    def __init__(self, boundary: str, *, directory: Path, max_part_bytes: int) -> None:
        self.directory = directory
        self.max_part_bytes = max_part_bytes
        self.parts: list[Part] = []
        self._ended = False
        self._field = b""
        self._value = b""
        self._headers: dict[str, str] = {}
        self._header_bytes = 0
        callbacks: Any = {
            "on_part_begin": self._begin, "on_part_data": self._data,
            "on_part_end": self._end_part, "on_header_field": self._on_field,
            "on_header_value": self._on_value, "on_header_end": self._header_end,
            "on_end": self._end,
        }  # fmt: skip
        self._parser = MultipartParser(boundary, callbacks)

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            self.close()
            raise BadMultipart(f"the multipart body does not parse: {exc}") from None

    def finish(self) -> list[Part]:
        """The parts, once the closing delimiter was read; else :class:`BadMultipart`."""
        self._parser.finalize()
        self.close()
        if not self._ended:
            raise BadMultipart("the multipart body ends before its closing delimiter")
        if not self.parts:
            raise BadMultipart("the multipart body has no parts")
        return self.parts

    def close(self) -> None:
        for part in self.parts:
            if part._file is not None:
                part._file.close()
                part._file = None

    # --- parser callbacks ---------------------------------------------------------------

    def _begin(self) -> None:
        self._headers = {}
        self._header_bytes = 0
        handle = tempfile.NamedTemporaryFile(dir=self.directory, suffix=".part", delete=False)
        self.parts.append(Part("", Path(handle.name), _file=handle))

    def _on_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]
        self._grow(end - start)

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]
        self._grow(end - start)

    def _grow(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > _MAX_HEADER_BYTES:
            raise MultipartParseError("a part's headers are too long")

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field = self._value = b""
        self.parts[-1].content_type = (
            parse_options_header(self._headers.get("content-type", ""))[0].decode("latin-1").lower()
        )

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self.parts[-1]
        part.size += end - start
        if part.size > self.max_part_bytes:
            part.too_large = True
            if part._file is not None:
                part._file.close()
                part._file = None
                part.path.unlink(missing_ok=True)
            return
        assert part._file is not None
        part._file.write(data[start:end])

    def _end_part(self) -> None:
        part = self.parts[-1]
        if part._file is not None:
            part._file.close()
            part._file = None

    def _end(self) -> None:
        self._ended = True
