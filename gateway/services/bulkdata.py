"""WADO-RS bulk data (PS3.18 §10.4.1.1.5): what ``/metadata`` points at with ``BulkDataURI``.

``/metadata`` leaves pixel data and other large binary values out of the DICOM JSON and
points at ``…/instances/{sop}/bulkdata/{tag}`` instead. That route opens the instance
through the case store (verified like every other read) and serves the element's value:
native pixel data and other binary elements as one ``application/octet-stream`` part
(little-endian bytes as stored), encapsulated pixel data one part per frame in its
compressed media type, exactly as the frames route serves them.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

import pydicom
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID

from gateway.exceptions import NotAcceptable, NotFound
from gateway.services import frames
from gateway.services.accept import parse_accept
from gateway.services.dicom_attrs import BINARY_VRS, BULK_THRESHOLD, PIXEL_DATA, to_dicom_json

OCTET = frames.OCTET


def url(instance_url: str, tag: BaseTag) -> str:
    return f"{instance_url}/bulkdata/{int(tag):08X}"


def _pixel_vr(header: Dataset, transfer_syntax: str) -> str:
    if UID(transfer_syntax).is_compressed or int(header.get("BitsAllocated", 16) or 16) <= 8:
        return "OB"
    return "OW"


def metadata_json(header: Dataset, *, transfer_syntax: str, instance_url: str) -> dict[str, Any]:
    """DICOM JSON of an instance header with ``BulkDataURI`` for its bulk elements.

    Headers are kept without pixel data; an instance with an Image Pixel module (``Rows``)
    has pixel data, so it is announced by URI. Other top-level binary values longer than
    the threshold are announced too; nested ones stay left out (no URI names them).
    """
    out = to_dicom_json(header)
    for element in header:
        if element.VR in BINARY_VRS and len(element.value or b"") > BULK_THRESHOLD:
            out[f"{int(element.tag):08X}"] = {
                "vr": element.VR,
                "BulkDataURI": url(instance_url, element.tag),
            }
    if "Rows" in header and "Columns" in header:
        out["7FE00010"] = {
            "vr": _pixel_vr(header, transfer_syntax),
            "BulkDataURI": url(instance_url, PIXEL_DATA),
        }
    return out


def parse_tag(text: str) -> BaseTag:
    """``7FE00010`` → the tag (the path pattern has already checked it is 8 hex digits)."""
    return Tag(int(text, 16))


def _octet_acceptable(header: str | None) -> bool:
    for media in parse_accept(header):
        if media.type in {"*/*", "application/octet-stream"}:
            return True
        if media.type in {"multipart/related", "multipart/*"} and media.params.get(
            "type", OCTET
        ) in {OCTET, "*/*", "application/*"}:
            return True
    return False


def extract(*, stream: BinaryIO, tag: BaseTag, accept: str | None) -> frames.Frames:
    """The value of ``tag`` in the verified instance in ``stream``, as multipart parts."""
    with stream:
        data = stream.read()
    ds = pydicom.dcmread(io.BytesIO(data))
    syntax = str(ds.file_meta.TransferSyntaxUID)
    if tag == PIXEL_DATA and "PixelData" in ds and UID(syntax).is_compressed:
        choice = frames.negotiate(accept, syntax=syntax)
        count = int(ds.get("NumberOfFrames", 1) or 1)
        every = list(range(1, count + 1))
        return frames.extract(stream=io.BytesIO(data), numbers=every, choice=choice)
    if tag not in ds or ds[tag].VR not in BINARY_VRS:
        raise NotFound("this instance has no bulk data element with this tag")
    if not UID(syntax).is_little_endian:
        raise NotAcceptable("bulk data of big-endian instances is not served")
    if not _octet_acceptable(accept):
        raise NotAcceptable(f'bulk data is available as multipart/related; type="{OCTET}"')
    value: bytes = ds[tag].value or b""
    return frames.Frames(OCTET, syntax, [value])
