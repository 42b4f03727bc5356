"""DICOM attribute plumbing shared by QIDO-RS and ``/metadata``: keys, copies, DICOM JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag

from gateway.exceptions import BadQuery

#: Value representations whose values are raw bytes: bulk data when large.
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
#: Binary elements longer than this are left out of every JSON answer (see ``without_bulk``).
BULK_THRESHOLD = 1024
PIXEL_DATA = Tag(0x7FE00010)
PIXEL_TAGS = frozenset({Tag(0x7FE00008), Tag(0x7FE00009), PIXEL_DATA})


def parse_attribute(key: str) -> BaseTag:
    """A QIDO attribute key (keyword like ``PatientID`` or tag like ``00100020``) as a tag."""
    tag: int | None
    if not key.isascii() or not key.isalnum():  # pydicom maps "" to a retired element
        raise BadQuery(f"unknown attribute {key[:64]!r}")
    if len(key) == 8 and all(c in "0123456789abcdefABCDEF" for c in key):
        tag = int(key, 16)
    else:
        tag = tag_for_keyword(key)
    if tag is None:
        raise BadQuery(f"unknown attribute {key[:64]!r}")
    try:
        dictionary_VR(tag)
    except KeyError as exc:
        raise BadQuery(f"unknown attribute {key[:64]!r}") from exc
    return Tag(tag)


def vr_of(tag: BaseTag) -> str:
    return str(dictionary_VR(tag))


def without_bulk(dataset: Dataset) -> Dataset:
    """A copy of ``dataset`` minus pixel data and large binary values, recursively.

    QIDO answers leave bulk data out; ``/metadata`` puts a ``BulkDataURI`` in its place
    (:func:`gateway.services.bulkdata.metadata_json`).
    """
    out = Dataset()
    for element in dataset:
        if element.tag in PIXEL_TAGS:
            continue
        if element.VR in BINARY_VRS and len(element.value or b"") > BULK_THRESHOLD:
            continue
        if element.VR == "SQ":
            sequence = [without_bulk(item) for item in element.value]
            out.add_new(element.tag, "SQ", sequence)
            continue
        out.add(element)
    return out


def pick(source: Dataset, tags: Iterable[BaseTag], into: Dataset) -> None:
    """Copy the ``tags`` present in ``source`` into ``into`` (absent ones are skipped)."""
    for tag in tags:
        if tag in source and tag not in PIXEL_TAGS:
            into.add(source[tag])


def to_dicom_json(dataset: Dataset) -> dict[str, Any]:
    """DICOM JSON (PS3.18 F.2) of ``dataset``; values that cannot be encoded are dropped."""
    return without_bulk(dataset).to_json_dict(
        bulk_data_threshold=BULK_THRESHOLD, suppress_invalid_tags=True
    )
