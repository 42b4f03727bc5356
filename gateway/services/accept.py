"""``Accept`` header negotiation for DICOMweb (PS3.18 §8.7).

Instances: no ``transfer-syntax`` parameter means the DICOMweb default, Explicit VR Little
Endian (compressed instances are transcoded, see :mod:`gateway.services.transcode`);
``transfer-syntax=*`` takes each instance as stored; an uncompressed syntax is transcoded
to; any other syntax is served only when every instance is stored in it, else 406 (we
never encode into a compressed, possibly lossy, syntax).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from gateway.exceptions import NotAcceptable
from gateway.services.transcode import EXPLICIT_LE, TARGETS, require_transcodable

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


def negotiate_instances(header: str | None, *, stored: Collection[str]) -> str | None:
    """The transfer syntax to serve instances in; ``None`` means each as stored.

    ``stored`` holds the transfer syntaxes of every instance to be sent. The first
    acceptable media range wins; a range we cannot satisfy (e.g. an undecodable source for
    the default syntax) falls through to the next, and none left is 406.
    """
    refusal: NotAcceptable | None = None
    for media in parse_accept(header):
        if media.type not in {"*/*", "multipart/related", "multipart/*"}:
            continue
        if media.params.get("type", "application/dicom") not in {"application/dicom", "*/*"}:
            continue
        syntax = media.params.get("transfer-syntax", EXPLICIT_LE)
        if syntax == "*":
            return None
        if set(stored) <= {syntax}:
            return syntax
        if syntax in TARGETS:
            try:
                require_transcodable(stored, syntax)
            except NotAcceptable as exc:
                refusal = exc
                continue
            return syntax
    if refusal is not None:
        raise refusal
    raise NotAcceptable(
        f"available as {MULTIPART_DICOM} with no transfer-syntax (Explicit VR Little Endian), "
        f"transfer-syntax=* (as stored: {', '.join(sorted(set(stored))) or 'none'}) or an "
        "uncompressed transfer syntax"
    )
