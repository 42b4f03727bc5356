"""Units of the DICOMweb layer: Accept negotiation, QIDO matching, PHI-free access logs."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pydicom
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import UID

from gateway.access_log import RedactingAccessFilter, redact_path
from gateway.domain import InstanceHeader
from gateway.exceptions import BadQuery, NotAcceptable
from gateway.services.accept import negotiate_instances, parse_accept, require_json
from gateway.services.dicom_attrs import parse_attribute, to_dicom_json
from gateway.services.qido import Level, parse_query, search
from gateway.services.qido_match import make_filter
from gateway.services.transcode import EXPLICIT_LE, transcode
from gateway.typing import DicomUID
from keys.typing import GrantId

EXPLICIT = "1.2.840.10008.1.2.1"


IMPLICIT = "1.2.840.10008.1.2"
JPEG2000 = "1.2.840.10008.1.2.4.91"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"  # no decoder installed (pylibjpeg-libjpeg is GPL)
DICOM = 'multipart/related; type="application/dicom"'


@pytest.mark.parametrize(
    ("accept", "served"),
    [
        (None, EXPLICIT),
        ("*/*", EXPLICIT),
        (DICOM, EXPLICIT),
        (f"{DICOM}; transfer-syntax=*", None),
        (f"{DICOM}; transfer-syntax={EXPLICIT}", EXPLICIT),
        (f"{DICOM}; transfer-syntax={IMPLICIT}", IMPLICIT),
        (f"image/png, {DICOM}; transfer-syntax={IMPLICIT}", IMPLICIT),
    ],
)
def test_no_syntax_means_explicit_little_endian_and_star_means_as_stored(
    accept: str | None, served: str | None
) -> None:
    assert negotiate_instances(accept, stored={JPEG2000, EXPLICIT}) == served


@pytest.mark.parametrize(
    "accept",
    [
        "application/dicom+json",
        'multipart/related; type="image/jpeg"',
        f"{DICOM}; transfer-syntax=1.2.840.10008.1.2.4.50",
        f"{DICOM}; q=0",
    ],
)
def test_other_media_or_a_compressed_syntax_not_stored_is_not_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate_instances(accept, stored={EXPLICIT})


def test_a_compressed_syntax_is_served_when_every_instance_is_stored_in_it() -> None:
    asked = f"{DICOM}; transfer-syntax={JPEG2000}"
    assert negotiate_instances(asked, stored={JPEG2000}) == JPEG2000
    with pytest.raises(NotAcceptable):
        negotiate_instances(asked, stored={JPEG2000, EXPLICIT})


def test_an_undecodable_source_refuses_the_default_but_not_the_wildcard() -> None:
    with pytest.raises(NotAcceptable, match=JPEG_LOSSLESS):
        negotiate_instances(DICOM, stored={JPEG_LOSSLESS})
    both = f"{DICOM}, {DICOM}; transfer-syntax=*"
    assert negotiate_instances(both, stored={JPEG_LOSSLESS}) is None


@pytest.mark.parametrize("header", [";", ", ;", '"', ';q=1, "a,b"'])
def test_degenerate_accept_headers_are_refused_not_crashed(header: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate_instances(header, stored={EXPLICIT})


def test_json_routes_accept_dicom_json_json_and_wildcards_only() -> None:
    for accept in ["application/dicom+json", "application/json", "*/*", None]:
        require_json(accept)
    with pytest.raises(NotAcceptable):
        require_json("text/html")


@given(st.text(max_size=200))
def test_any_accept_header_is_parsed_or_refused_cleanly(header: str) -> None:
    assert all(m.quality > 0 for m in parse_accept(header))
    try:
        negotiate_instances(header, stored={EXPLICIT})
    except NotAcceptable:
        pass


def _ds(**values: object) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def test_matching_single_value_uid_list_wildcard_range_and_number() -> None:
    ds = _ds(
        PatientID="MRN-0042",
        StudyInstanceUID="1.2.3",
        StudyDate="20040119",
        SeriesNumber=4,
        ModalitiesInStudy=["CT", "MR"],
    )
    assert make_filter(Tag("PatientID"), "MRN-0042").matches(ds)
    assert not make_filter(Tag("PatientID"), "MRN-004").matches(ds)
    assert make_filter(Tag("PatientID"), "MRN-00?2").matches(ds)
    assert make_filter(Tag("PatientID"), "*42").matches(ds)
    assert make_filter(Tag("StudyInstanceUID"), "9.9,1.2.3").matches(ds)
    assert not make_filter(Tag("StudyInstanceUID"), "1.2.*").matches(ds)  # no UID wildcards
    assert make_filter(Tag("StudyDate"), "20040101-20040131").matches(ds)
    assert make_filter(Tag("StudyDate"), "-20040119").matches(ds)
    assert not make_filter(Tag("StudyDate"), "20040120-").matches(ds)
    assert make_filter(Tag("SeriesNumber"), "4").matches(ds)
    assert make_filter(Tag("ModalitiesInStudy"), "MR").matches(ds)
    assert not make_filter(Tag("AccessionNumber"), "x").matches(ds)  # absent attribute
    with pytest.raises(BadQuery):
        make_filter(Tag("SeriesNumber"), "four")
    with pytest.raises(BadQuery):
        make_filter(Tag("ReferencedSeriesSequence"), "x")


@pytest.mark.parametrize("key", ["NoSuchKeyword", "0000zzzz", "FFFFFFFF", "", "x" * 500])
def test_unknown_attribute_keys_are_bad_queries(key: str) -> None:
    with pytest.raises(BadQuery):
        parse_attribute(key)


def test_dicom_json_leaves_out_pixel_and_other_bulk_data() -> None:
    ds = _ds(PatientID="X", Rows=2)
    ds.add_new(0x7FE00010, "OW", b"\x00" * 8)
    ds.add_new(0x00291010, "OB", b"\x01" * 4096)  # a large private binary blob
    ds.add_new(0x00291011, "OB", b"\x02" * 8)  # small binary stays inline
    out = to_dicom_json(ds)
    assert "7FE00010" not in out and "00291010" not in out
    assert out["00291011"]["InlineBinary"]
    assert out["00100020"]["Value"] == ["X"]


def test_access_log_carries_no_query_and_no_identifiers() -> None:
    path = "/dicomweb/studies/1.2.840.1234/series?PatientID=MRN-0042&PatientName=Doe"
    assert redact_path(path) == "/dicomweb/studies/{id}/series?…"
    assert redact_path("/audit/cases/0x" + "ab" * 32) == "/audit/cases/{id}"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", path, "1.1", 200), None,
    )  # fmt: skip
    RedactingAccessFilter().filter(record)
    assert "MRN" not in record.getMessage() and "1.2.840" not in record.getMessage()


_KEYS = st.sampled_from(
    ["PatientID", "PatientName", "StudyDate", "StudyTime", "Modality", "ModalitiesInStudy",
     "SeriesNumber", "StudyInstanceUID", "NumberOfStudyRelatedInstances", "00100020",
     "includefield", "ReferencedSeriesSequence", "PixelData", "Rows"]
)  # fmt: skip


@given(
    st.lists(st.tuples(_KEYS | st.text(max_size=12), st.text(max_size=24)), max_size=4),
    st.sampled_from(list(Level)),
)
def test_any_qido_query_answers_or_is_a_bad_query(
    params: list[tuple[str, str]], level: Level
) -> None:
    headers = _headers()
    try:
        query = parse_query(params, includefield=[], limit=10, offset=0)
    except BadQuery:
        return
    results = search(instances=headers, level=level, query=query, depth=0, base_url="http://x")
    assert len(results) <= 10
    assert all("7FE00010" not in r for r in results)


def _headers() -> list[InstanceHeader]:
    out = []
    for name in ("CT_small.dcm", "MR_small.dcm"):
        path = get_testdata_file(name)
        assert path is not None
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        out.append(
            InstanceHeader(
                grant_id=GrantId(b"\x01" * 32),
                study_uid=DicomUID(str(ds.StudyInstanceUID)),
                series_uid=DicomUID(str(ds.SeriesInstanceUID)),
                sop_uid=DicomUID(str(ds.SOPInstanceUID)),
                transfer_syntax=DicomUID(str(ds.file_meta.TransferSyntaxUID)),
                dataset=ds,
            )
        )
    return out


@pytest.mark.parametrize(
    "name",
    ["JPEG2000.dcm", "SC_rgb_rle.dcm", "SC_rgb_jpeg_dcmtk.dcm", "MR_small.dcm", "rtplan.dcm"],
)
def test_the_fast_explicit_writer_writes_what_save_as_writes(name: str) -> None:
    data = Path(str(get_testdata_file(name))).read_bytes()
    ds = pydicom.dcmread(io.BytesIO(data))
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        ds.decompress(generate_instance_uid=False)
    ds.file_meta.TransferSyntaxUID = UID(EXPLICIT_LE)
    reference = io.BytesIO()
    ds.save_as(reference, enforce_file_format=True)
    assert transcode(data, target=EXPLICIT_LE) == reference.getvalue()
