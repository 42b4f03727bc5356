"""Transcoding a verified instance to an uncompressed transfer syntax (PS3.18 §8.7.3.5).

A DICOMweb client that names no transfer syntax gets Explicit VR Little Endian, the
standard's default; one that names an uncompressed syntax gets that one. The input is
always the case store's *verified* Part 10 bytes (decrypted, re-hashed and matched to
the anchor before this module sees a byte): the transcoded bytes are derived from verified
bytes, never from anything unverified, so the verified read path stays the only read path.

Decoding uses the plugins pydicom documents (pylibjpeg + openjpeg for JPEG 2000, + rle
for RLE Lossless, Pillow for baseline JPEG). A syntax none of them decodes, or a
big-endian source (pydicom converts only between the little-endian syntaxes), is refused
with 406 before a response starts (:func:`require_transcodable`).
"""

from __future__ import annotations

import io
from collections.abc import Collection

import pydicom
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID

from gateway.exceptions import NotAcceptable

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
#: What we transcode into: the uncompressed little-endian syntaxes.
TARGETS = frozenset({EXPLICIT_LE, IMPLICIT_LE})
#: Uncompressed little-endian sources: only the dataset encoding changes, never pixels.
NATIVE_LE = frozenset({EXPLICIT_LE, IMPLICIT_LE, "1.2.840.10008.1.2.1.99"})


def can_transcode(source: str, target: str) -> bool:
    """Whether an instance stored in ``source`` can be served in ``target``."""
    if source == target or source in NATIVE_LE:
        return target in TARGETS or source == target
    if target not in TARGETS:
        return False
    uid = UID(source)
    if not uid.is_compressed:
        return False  # Explicit VR Big Endian: pydicom does not swap pixel bytes
    try:
        return bool(get_decoder(uid).is_available)
    except NotImplementedError:  # no decoder registered at all for this syntax
        return False


def require_transcodable(stored: Collection[str], target: str) -> None:
    """Refuse (406) before the body starts if any stored syntax cannot become ``target``."""
    refused = sorted({s for s in stored if not can_transcode(s, target)})
    if refused:
        raise NotAcceptable(
            f"instances stored in {', '.join(refused)} cannot be served in {target}; "
            "ask for transfer-syntax=* to get them as stored"
        )


def transcode(data: bytes, *, target: str) -> bytes:
    """``data`` (verified Part 10 bytes) re-encoded in ``target``; as is if already there."""
    ds = pydicom.dcmread(io.BytesIO(data))
    source = str(ds.file_meta.TransferSyntaxUID)
    if source == target:
        return data
    if not can_transcode(source, target):
        raise NotAcceptable(f"an instance stored in {source} cannot be served in {target}")
    if UID(source).is_compressed and "PixelData" in ds:
        try:
            # the same instance in another encoding: it keeps its SOP Instance UID (the URL
            # the client asked for names it); the dataset becomes Explicit VR Little Endian
            ds.decompress(generate_instance_uid=False)
        except Exception as exc:  # a decoder's own error types vary by plugin
            raise NotAcceptable(f"pixel data in {source} could not be decoded") from exc
    ds.file_meta.TransferSyntaxUID = UID(target)
    if target == EXPLICIT_LE and not ds.original_encoding[0]:  # read as explicit VR LE
        return _explicit_le(ds)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)  # converts the encoding (explicit -> implicit)
    return out.getvalue()


def _explicit_le(ds: pydicom.Dataset) -> bytes:
    """``ds`` as a Part 10 file, written as ``save_as`` would (the same bytes), a third faster.

    ``save_as`` deep-copies and re-validates the file meta on every call, which costs more
    than writing a small instance: the hot path of the default WADO-RS syntax.
    """
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    fp.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(fp, ds.file_meta, enforce_standard=True)
    write_dataset(fp, ds)
    return bytes(fp.getvalue())
