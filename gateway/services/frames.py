"""WADO-RS frame retrieval (PS3.18 §10.4.1.1.3): pixel data of chosen frames, as stored.

Viewers fetch frames rather than whole instances. Native little-endian pixel data goes
out as ``application/octet-stream`` (one part per frame, sliced by frame size);
encapsulated pixel data goes out frame by frame in its compressed media type (JPEG,
JPEG 2000, JPEG-LS, RLE), or as ``application/octet-stream`` labelled with its transfer
syntax when the client accepts octet-stream in any transfer syntax
(``transfer-syntax=*``, what Cornerstone-based viewers such as OHIF send; PS3.18 lets the
origin server pick the syntax then, and each part's Content-Type names it). As for
instances, a client asking octet-stream with no transfer syntax (or Explicit VR Little
Endian) gets compressed frames decoded; one that accepts none of these gets 406.
Big-endian and 1-bit native data are refused (406) rather than converted, since
octet-stream frames are defined as little-endian bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pydicom
from pydicom.encaps import get_frame
from pydicom.pixels.utils import pixel_array

from gateway.exceptions import NotAcceptable, NotFound
from gateway.services.accept import parse_accept
from gateway.services.transcode import EXPLICIT_LE, can_transcode

OCTET = "application/octet-stream"
#: Native transfer syntaxes whose pixel bytes are little-endian as read.
NATIVE_LE = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99"})
ENCAPSULATED = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
}


@dataclass(frozen=True, slots=True)
class Frames:
    media_type: str
    transfer_syntax: str
    parts: list[bytes]


def parse_frame_list(text: str) -> list[int]:
    """``"1,3,5"`` → ``[1, 3, 5]`` (the path pattern has already checked the shape)."""
    return [int(n) for n in text.split(",")]


def media_type_for(transfer_syntax: str) -> str:
    if transfer_syntax in NATIVE_LE:
        return OCTET
    if transfer_syntax in ENCAPSULATED:
        return ENCAPSULATED[transfer_syntax]
    raise NotAcceptable(f"frames of transfer syntax {transfer_syntax} are not served")


@dataclass(frozen=True, slots=True)
class Choice:
    """How frames go out: the parts' media type, and whether they are decoded first."""

    media_type: str
    decode: bool = False


def negotiate(header: str | None, *, syntax: str) -> Choice:
    """How to send the frames of a ``syntax`` instance, from ``Accept``.

    The stored media type when accepted (``multipart/related; type=<it>`` or a wildcard);
    ``application/octet-stream`` as stored when the client takes octet-stream in any
    transfer syntax or in exactly the stored one (the part's ``transfer-syntax`` says what
    the bytes are); octet-stream without a transfer syntax (or Explicit VR Little Endian)
    means uncompressed little-endian bytes (PS3.18 §8.7.3.5.2): compressed frames are then
    decoded from the verified instance, as Orthanc does. Anything else is refused (406).
    """
    stored = media_type_for(syntax)
    for media in parse_accept(header):
        if media.type == "*/*":
            return Choice(stored)
        if media.type not in {"multipart/related", "multipart/*"}:
            continue
        wanted = media.params.get("type", OCTET)
        asked = media.params.get("transfer-syntax")
        if wanted in {stored, "*/*", stored.split("/")[0] + "/*"} and asked in {None, "*", syntax}:
            return Choice(stored)
        if wanted == OCTET and asked in {"*", syntax}:
            return Choice(OCTET)
        if wanted == OCTET and asked in {None, EXPLICIT_LE} and can_transcode(syntax, EXPLICIT_LE):
            return Choice(OCTET, decode=True)
    raise NotAcceptable(
        f'frames available only as multipart/related; type="{stored}", or as '
        f'type="{OCTET}" with transfer-syntax=* or transfer-syntax={syntax}, or decoded to '
        f"{EXPLICIT_LE} where a decoder is installed"
    )


def _decoded(ds: pydicom.Dataset, numbers: list[int]) -> list[bytes]:
    """Frames ``numbers`` decoded to native little-endian bytes (colour as RGB)."""
    try:
        arrays = [pixel_array(ds, index=n - 1) for n in numbers]
    except Exception as exc:  # a decoder's own error types vary by plugin
        raise NotAcceptable("the frames could not be decoded") from exc
    return [np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes() for a in arrays]


def extract(*, stream: BinaryIO, numbers: list[int], choice: Choice) -> Frames:
    """The frames ``numbers`` (1-based) of the verified instance in ``stream``.

    ``choice`` is what :func:`negotiate` chose: its media type labels the parts, and the
    bytes are as stored unless it says to decode them.
    """
    with stream:
        ds = pydicom.dcmread(io.BytesIO(stream.read()))
    if "PixelData" not in ds:
        raise NotFound("this instance has no pixel data")
    syntax = str(ds.file_meta.TransferSyntaxUID)
    stored = media_type_for(syntax)
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if any(n < 1 or n > count for n in numbers):
        raise NotFound(f"this instance has frames 1 to {count}")
    if choice.decode and stored != OCTET:
        return Frames(OCTET, EXPLICIT_LE, _decoded(ds, numbers))
    media_type = choice.media_type
    pixel_data: bytes = ds.PixelData
    if stored == OCTET:
        bits = int(ds.BitsAllocated)
        if bits % 8:
            raise NotAcceptable("1-bit pixel data is not served as frames")
        size = int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel) * bits // 8
        parts = [pixel_data[(n - 1) * size : n * size] for n in numbers]
    else:
        parts = [get_frame(pixel_data, n - 1, number_of_frames=count) for n in numbers]
    return Frames(media_type, syntax, parts)


def body(*, frames: Frames, boundary: str, locations: list[str]) -> bytes:
    """The multipart body: one part per frame, in the order asked for.

    ``locations`` are the parts' ``Content-Location`` URLs (one per part).
    """
    head = f"Content-Type: {frames.media_type}; transfer-syntax={frames.transfer_syntax}"
    out = bytearray()
    for part, location in zip(frames.parts, locations, strict=True):
        out += f"--{boundary}\r\n{head}\r\nContent-Location: {location}\r\n\r\n".encode()
        out += part + b"\r\n"
    out += f"--{boundary}--\r\n".encode("ascii")
    return bytes(out)
