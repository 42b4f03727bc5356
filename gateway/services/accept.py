"""``Accept`` header negotiation for DICOMweb (PS3.18 §8.7).

We never transcode: instances go out in the transfer syntax they were stored in. A
request that names another transfer syntax is refused with 406 rather than served
something it did not ask for; no transfer-syntax parameter (or ``*``) takes what is stored.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from gateway.exceptions import NotAcceptable

DICOM_JSON = "application/dicom+json"
MULTIPART_DICOM = 'multipart/related; type="application/dicom"'


@dataclass(frozen=True, slots=True)
class MediaRange:
    type: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def quality(self) -> float:
        try:
            return float(self.params.get("q", "1"))
        except ValueError:
            return 0.0


def _split(header: str, sep: str) -> list[str]:
    """Split on ``sep`` outside double quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header with q > 0 (``*/*`` when absent)."""
    if not header or not header.strip():
        return [MediaRange("*/*")]
    ranges = []
    for item in _split(header, ","):
        pieces = _split(item, ";")
        if not pieces:  # e.g. a bare ";"
            continue
        kind, *raw_params = pieces
        params = {}
        for raw in raw_params:
            name, _, value = raw.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        media = MediaRange(kind.lower(), params)
        if media.quality > 0:
            ranges.append(media)
    return ranges


def require_json(header: str | None) -> None:
    """Refuse unless DICOM JSON (or plain JSON) is acceptable."""
    wanted = {DICOM_JSON, "application/json", "application/*", "*/*"}
    if not any(m.type in wanted for m in parse_accept(header)):
        raise NotAcceptable(f"this resource is available only as {DICOM_JSON}")


def require_multipart_dicom(header: str | None, *, stored: Collection[str]) -> None:
    """Refuse unless ``multipart/related; type="application/dicom"`` in a stored syntax is ok.

    ``stored`` holds the transfer syntaxes of every instance to be sent.
    """
    for media in parse_accept(header):
        if media.type == "*/*":
            return
        if media.type not in {"multipart/related", "multipart/*"}:
            continue
        if media.params.get("type", "application/dicom") not in {"application/dicom", "*/*"}:
            continue
        syntax = media.params.get("transfer-syntax", "*")
        if syntax == "*" or set(stored) <= {syntax}:
            return
    raise NotAcceptable(
        f"available only as {MULTIPART_DICOM} in the stored transfer syntax "
        f"({', '.join(sorted(set(stored))) or 'none'})"
    )
