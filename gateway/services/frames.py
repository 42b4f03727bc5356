"""WADO-RS frame retrieval (PS3.18 §10.4.1.1.3): pixel data of chosen frames, as stored.

Viewers fetch frames rather than whole instances. Native little-endian pixel data goes
out as ``application/octet-stream`` (one part per frame, sliced by frame size);
encapsulated pixel data goes out frame by frame in its compressed media type (JPEG,
JPEG 2000, JPEG-LS, RLE). As for instances, nothing is transcoded: a client that accepts
neither gets 406. Big-endian and 1-bit native data are refused (406) rather than
converted, since octet-stream frames are defined as little-endian bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

import pydicom
from pydicom.encaps import get_frame

from gateway.exceptions import NotAcceptable, NotFound
from gateway.services.accept import parse_accept

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


def require_frames_acceptable(header: str | None, *, media_type: str, syntax: str) -> None:
    """Refuse unless ``multipart/related; type=<media_type>`` (or a wildcard) is accepted."""
    for media in parse_accept(header):
        if media.type == "*/*":
            return
        if media.type not in {"multipart/related", "multipart/*"}:
            continue
        wanted = media.params.get("type", OCTET)
        if wanted not in {media_type, "*/*", media_type.split("/")[0] + "/*"}:
            continue
        if media.params.get("transfer-syntax", "*") in {"*", syntax}:
            return
    raise NotAcceptable(f'frames available only as multipart/related; type="{media_type}"')


def extract(*, stream: BinaryIO, numbers: list[int]) -> Frames:
    """The frames ``numbers`` (1-based) of the verified instance in ``stream``."""
    with stream:
        ds = pydicom.dcmread(io.BytesIO(stream.read()))
    if "PixelData" not in ds:
        raise NotFound("this instance has no pixel data")
    syntax = str(ds.file_meta.TransferSyntaxUID)
    media_type = media_type_for(syntax)
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if any(n < 1 or n > count for n in numbers):
        raise NotFound(f"this instance has frames 1 to {count}")
    pixel_data: bytes = ds.PixelData
    if media_type == OCTET:
        bits = int(ds.BitsAllocated)
        if bits % 8:
            raise NotAcceptable("1-bit pixel data is not served as frames")
        size = int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel) * bits // 8
        parts = [pixel_data[(n - 1) * size : n * size] for n in numbers]
    else:
        parts = [get_frame(pixel_data, n - 1, number_of_frames=count) for n in numbers]
    return Frames(media_type, syntax, parts)


def body(*, frames: Frames, boundary: str) -> bytes:
    """The multipart body: one part per frame, in the order asked for."""
    head = f"Content-Type: {frames.media_type}; transfer-syntax={frames.transfer_syntax}"
    out = bytearray()
    for part in frames.parts:
        out += f"--{boundary}\r\n{head}\r\n\r\n".encode("ascii") + part + b"\r\n"
    out += f"--{boundary}--\r\n".encode("ascii")
    return bytes(out)
