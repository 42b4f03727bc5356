"""DICOMweb through the real ``dicomweb-client`` against a real uvicorn server on loopback.

The case store is ``FileCaseStore`` over pydicom's own test files: it stands in for the
node's verified store (another issue) but keeps its contract (grant scoping, re-hash
before release). The thing under test is the gateway's HTTP/DICOMweb layer.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from eth_account.signers.local import LocalAccount
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.encaps import get_frame

from tests.gateway.conftest import Gateway
from tests.gateway.dicom_files import Files, make_files
from tests.gateway.fakes import grant_state
from tests.gateway.redeemed import G1, seed_redeemed_case
from tests.gateway.server import serve

pytestmark = pytest.mark.integration
IMPLICIT = "1.2.840.10008.1.2"


@dataclass
class Case:
    gw: Gateway
    files: Files
    base: str
    token: str
    client: DICOMwebClient

    def get(self, path: str, **headers: str) -> requests.Response:
        headers["Authorization"] = f"Bearer {self.token}"
        return requests.get(self.base + path, headers=headers, timeout=10)


@pytest.fixture
def case(gateway: Gateway, physician: LocalAccount, tmp_path: Path) -> Iterator[Case]:
    files = make_files(tmp_path)
    token = seed_redeemed_case(gateway, physician, files)
    with serve(gateway.app) as base:
        client = DICOMwebClient(
            url=base + "/dicomweb", headers={"Authorization": f"Bearer {token}"}
        )
        client.set_http_retry_params(retry=False)  # its back-off would retry a cut body for 31 s
        yield Case(gateway, files, base, token, client)


def _uid(result: dict[str, dict[str, list[str]]], tag: str) -> str:
    return result[tag]["Value"][0]


def _read(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path)


def test_search_for_studies_lists_the_granted_studies_only(case: Case) -> None:
    studies = case.client.search_for_studies()
    found = {_uid(s, "0020000D") for s in studies}
    expected = {str(_read(p).StudyInstanceUID) for p in (case.files.ct_series[0], case.files.mr)}
    expected.add(str(_read(case.files.rtplan).StudyInstanceUID))
    assert found == expected
    assert str(_read(case.files.other_grant).StudyInstanceUID) not in found
    ct = next(s for s in studies if _uid(s, "0020000D") == expected_ct(case))
    assert ct["00201208"]["Value"] == [3]  # NumberOfStudyRelatedInstances
    assert ct["00080061"]["Value"] == ["CT"]  # ModalitiesInStudy
    assert ct["00100020"]["Value"] == [str(_read(case.files.ct_series[0]).PatientID)]
    assert ct["00081190"]["Value"][0].endswith("/dicomweb/studies/" + expected_ct(case))


def expected_ct(case: Case) -> str:
    return str(_read(case.files.ct_series[0]).StudyInstanceUID)


def test_search_filters_by_keyword_tag_wildcard_and_date_range(case: Case) -> None:
    mr = _read(case.files.mr)
    by_id = case.client.search_for_studies(search_filters={"PatientID": str(mr.PatientID)})
    assert [_uid(s, "0020000D") for s in by_id] == [str(mr.StudyInstanceUID)]
    by_tag = case.client.search_for_studies(search_filters={"00080061": "CT"})
    assert [_uid(s, "0020000D") for s in by_tag] == [expected_ct(case)]
    wildcard = case.client.search_for_studies(search_filters={"PatientID": "*MR*"})
    assert [_uid(s, "0020000D") for s in wildcard] == [str(mr.StudyInstanceUID)]
    dated = case.client.search_for_studies(search_filters={"StudyDate": "20040101-20040131"})
    assert [_uid(s, "0020000D") for s in dated] == [expected_ct(case)]
    assert case.client.search_for_studies(search_filters={"PatientID": "nobody"}) == []


def test_includefield_limit_and_offset(case: Case) -> None:
    first = case.client.search_for_studies(limit=1, fields=["PatientAge", "00180050"])
    assert len(first) == 1
    rest = case.client.search_for_studies(offset=1)
    assert len(rest) == 2
    assert _uid(first[0], "0020000D") not in {_uid(s, "0020000D") for s in rest}
    everything = case.client.search_for_studies(fields=["all"])
    ct = next(s for s in everything if _uid(s, "0020000D") == expected_ct(case))
    assert ct["00101010"]["Value"] == [str(_read(case.files.ct_series[0]).PatientAge)]  # study
    for study in everything:  # "all" is every attribute of the study level, none below it
        assert not {"00080016", "00080018", "00080060", "0020000E", "00280010"} & set(study)
        assert "7FE00010" not in study
    instances = case.client.search_for_instances(
        study_instance_uid=expected_ct(case), fields=["all"]
    )
    assert instances[0]["00180050"]["Value"]  # SliceThickness: an instance attribute
    assert instances[0]["00080060"]["Value"] == ["CT"]


def test_search_for_series_and_instances(case: Case) -> None:
    ct = _read(case.files.ct_series[0])
    series = case.client.search_for_series(study_instance_uid=str(ct.StudyInstanceUID))
    assert [_uid(s, "0020000E") for s in series] == [str(ct.SeriesInstanceUID)]
    assert series[0]["00201209"]["Value"] == [3]  # NumberOfSeriesRelatedInstances
    instances = case.client.search_for_instances(
        study_instance_uid=str(ct.StudyInstanceUID), series_instance_uid=str(ct.SeriesInstanceUID)
    )
    expected = [str(_read(p).SOPInstanceUID) for p in case.files.ct_series]
    assert [_uid(i, "00080018") for i in instances] == expected
    everywhere = case.client.search_for_instances(search_filters={"Modality": "MR"})
    assert [_uid(i, "00080018") for i in everywhere] == [str(_read(case.files.mr).SOPInstanceUID)]
    assert everywhere[0]["0020000D"]["Value"] == [str(_read(case.files.mr).StudyInstanceUID)]


def test_retrieve_instance_returns_the_stored_instance_intact(case: Case) -> None:
    original = _read(case.files.ct_series[1])
    got = case.client.retrieve_instance(
        str(original.StudyInstanceUID),
        str(original.SeriesInstanceUID),
        str(original.SOPInstanceUID),
    )
    assert got.SOPInstanceUID == original.SOPInstanceUID
    assert got.PixelData == original.PixelData
    assert got.PatientName == original.PatientName


def test_retrieve_series_and_study_return_every_instance(case: Case) -> None:
    ct = _read(case.files.ct_series[0])
    series = case.client.retrieve_series(str(ct.StudyInstanceUID), str(ct.SeriesInstanceUID))
    expected = [str(_read(p).SOPInstanceUID) for p in case.files.ct_series]
    assert [str(d.SOPInstanceUID) for d in series] == expected
    assert all(d.PixelData == ct.PixelData for d in series)
    study = case.client.retrieve_study(str(ct.StudyInstanceUID))
    assert [str(d.SOPInstanceUID) for d in study] == expected


def test_implicit_vr_instance_goes_out_in_the_default_syntax_or_as_stored_on_request(
    case: Case,
) -> None:
    plan = _read(case.files.rtplan)
    path = f"/dicomweb/studies/{plan.StudyInstanceUID}"
    response = case.get(path)  # no transfer syntax asked: Explicit VR Little Endian
    assert response.status_code == 200
    assert b"transfer-syntax=1.2.840.10008.1.2.1\r\n" in response.content
    stored = case.get(path, Accept='multipart/related; type="application/dicom"; transfer-syntax=*')
    assert b"transfer-syntax=1.2.840.10008.1.2\r\n" in stored.content
    assert case.files.rtplan.read_bytes() in stored.content  # as stored, byte for byte
    got = case.client.retrieve_study(str(plan.StudyInstanceUID))
    assert [str(d.SOPInstanceUID) for d in got] == [str(plan.SOPInstanceUID)]
    assert got[0].file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert got[0].BeamSequence[0].BeamName == plan.BeamSequence[0].BeamName


def test_metadata_is_dicom_json_with_pixel_data_by_bulk_data_uri(case: Case) -> None:
    ct = _read(case.files.ct_series[0])
    study = case.client.retrieve_study_metadata(str(ct.StudyInstanceUID))
    assert len(study) == 3
    assert all(set(m["7FE00010"]) == {"vr", "BulkDataURI"} for m in study)
    dataset = pydicom.Dataset.from_json(study[0], bulk_data_uri_handler=lambda *_: b"")
    assert dataset.Rows == ct.Rows and dataset.PatientID == ct.PatientID
    one = case.client.retrieve_instance_metadata(
        str(ct.StudyInstanceUID), str(ct.SeriesInstanceUID), str(ct.SOPInstanceUID)
    )
    assert one["00080018"]["Value"] == [str(ct.SOPInstanceUID)]
    path = f"/dicomweb/studies/{ct.StudyInstanceUID}/series/{ct.SeriesInstanceUID}/instances/"
    raw = case.get(path + f"{ct.SOPInstanceUID}/metadata").json()[0]
    uri = raw["7FE00010"]["BulkDataURI"]
    assert uri.startswith(case.base + "/dicomweb/studies/") and uri.endswith("/bulkdata/7FE00010")
    assert case.client.retrieve_bulkdata(uri) == [ct.PixelData]
    response = case.get(uri.removeprefix(case.base))
    assert f"Content-Location: {uri}\r\n".encode() in response.content


def test_bulk_data_of_compressed_pixels_comes_frame_by_frame_as_stored(case: Case) -> None:
    rle = _add_testdata(case, "SC_rgb_rle_2frame.dcm")
    uids = (str(rle.StudyInstanceUID), str(rle.SeriesInstanceUID), str(rle.SOPInstanceUID))
    # dicomweb-client (0.61) sends ``Host`` without the port, so URIs built from what it
    # asked lack the port: read the metadata with plain requests to follow them.
    path = "/dicomweb/studies/{}/series/{}/instances/{}".format(*uids)
    one = case.get(path + "/metadata").json()[0]
    assert one["7FE00010"]["vr"] == "OB"
    parts = case.client.retrieve_bulkdata(
        one["7FE00010"]["BulkDataURI"], media_types=(("image/dicom-rle", "*"),)
    )
    assert parts == [get_frame(rle.PixelData, i, number_of_frames=2) for i in (0, 1)]
    missing = case.get(path + "/bulkdata/00100010")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")


def test_study_of_a_grant_not_redeemed_is_not_found(case: Case) -> None:
    other = _read(case.files.other_grant)
    with pytest.raises(requests.HTTPError) as err:
        case.client.retrieve_study(str(other.StudyInstanceUID))
    assert err.value.response.status_code == 404
    for path in ["", "/metadata"]:
        response = case.get(f"/dicomweb/studies/{other.StudyInstanceUID}{path}")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert case.client.search_for_series(study_instance_uid=str(other.StudyInstanceUID)) == []


def test_revoked_grant_stops_reading_at_once(case: Case) -> None:
    ct = _read(case.files.ct_series[0])
    case.gw.chain.grants[G1] = grant_state(G1, case.gw.settings.hospital, revoked=True)
    assert case.client.search_for_studies() == []
    assert case.get(f"/dicomweb/studies/{ct.StudyInstanceUID}").status_code == 404


def test_unservable_transfer_syntax_or_media_type_is_not_acceptable(case: Case) -> None:
    ct = _read(case.files.ct_series[0])
    jpeg = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'
    response = case.get(f"/dicomweb/studies/{ct.StudyInstanceUID}", Accept=jpeg)
    assert (response.status_code, response.json()["error"]) == (406, "not_acceptable")
    with pytest.raises(requests.HTTPError) as err:
        case.client.retrieve_study(
            str(ct.StudyInstanceUID),
            media_types=(("application/dicom", "1.2.840.10008.1.2.4.50"),),
        )
    assert err.value.response.status_code == 406
    assert case.get("/dicomweb/studies", Accept="image/png").status_code == 406
    ok = case.get(
        f"/dicomweb/studies/{ct.StudyInstanceUID}",
        Accept='multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1',
    )
    assert ok.status_code == 200


def test_tampered_instance_is_refused_and_never_served(case: Case) -> None:
    ct = _read(case.files.ct_series[0])
    path = case.files.ct_series[0]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one flipped pixel bit
    path.write_bytes(bytes(data))
    response = case.get(
        f"/dicomweb/studies/{ct.StudyInstanceUID}/series/{ct.SeriesInstanceUID}"
        f"/instances/{ct.SOPInstanceUID}"
    )
    assert (response.status_code, response.json()["error"]) == (502, "integrity_failure")
    assert bytes(data[-64:]) not in response.content


def test_tampered_later_instance_aborts_the_study_body(case: Case) -> None:
    """Headers are gone by the time instance 3 fails: the transfer is cut, not closed cleanly."""
    ct = _read(case.files.ct_series[0])
    path = case.files.ct_series[2]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        case.get(f"/dicomweb/studies/{ct.StudyInstanceUID}")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        case.client.retrieve_study(str(ct.StudyInstanceUID))


def test_multipart_body_parses_with_the_standard_library_byte_for_byte(case: Case) -> None:
    ct = _read(case.files.ct_series[0])
    response = case.get(f"/dicomweb/studies/{ct.StudyInstanceUID}/series/{ct.SeriesInstanceUID}")
    content_type = response.headers["content-type"]
    assert content_type.startswith('multipart/related; type="application/dicom"; boundary=')
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + response.content
    )
    parts = list(message.iter_parts())
    assert [p.get_payload(decode=True) for p in parts] == [
        p.read_bytes() for p in case.files.ct_series
    ]
    assert [(p.get_content_type(), p.get_param("transfer-syntax")) for p in parts] == [
        ("application/dicom", "1.2.840.10008.1.2.1")
    ] * 3
    base = case.base + f"/dicomweb/studies/{ct.StudyInstanceUID}/series/{ct.SeriesInstanceUID}"
    assert [p["Content-Location"] for p in parts] == [
        f"{base}/instances/{_read(p).SOPInstanceUID}" for p in case.files.ct_series
    ]
    assert response.content.endswith(b"--\r\n") and not message.defects


def _add_testdata(case: Case, name: str) -> pydicom.Dataset:
    source = get_testdata_file(name)
    assert source is not None
    path = case.files.mr.parent / name
    path.write_bytes(Path(str(source)).read_bytes())
    case.gw.cases.add(G1, path)
    return pydicom.dcmread(path)


def test_native_frames_are_sliced_from_the_pixel_data(case: Case) -> None:
    dose = _add_testdata(case, "rtdose.dcm")  # 15 frames, Implicit VR Little Endian
    uids = (str(dose.StudyInstanceUID), str(dose.SeriesInstanceUID), str(dose.SOPInstanceUID))
    frames = case.client.retrieve_instance_frames(*uids, frame_numbers=[2, 15, 1])
    size = dose.Rows * dose.Columns * dose.BitsAllocated // 8
    expected = [dose.PixelData[(n - 1) * size : n * size] for n in (2, 15, 1)]
    assert frames == expected
    assert len({bytes(f) for f in frames}) == 3  # really different frames
    missing = case.get(
        f"/dicomweb/studies/{uids[0]}/series/{uids[1]}/instances/{uids[2]}/frames/16"
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")


def test_compressed_frames_go_out_as_stored_or_decoded(case: Case) -> None:
    rle = _add_testdata(case, "SC_rgb_rle_2frame.dcm")
    uids = (str(rle.StudyInstanceUID), str(rle.SeriesInstanceUID), str(rle.SOPInstanceUID))
    frames = case.client.retrieve_instance_frames(
        *uids, frame_numbers=[2], media_types=(("image/dicom-rle", "1.2.840.10008.1.2.5"),)
    )
    assert frames == [get_frame(rle.PixelData, 1, number_of_frames=2)]
    path = f"/dicomweb/studies/{uids[0]}/series/{uids[1]}/instances/{uids[2]}/frames/1"
    # octet-stream without transfer-syntax means Explicit VR Little Endian: decoded
    for accept in ('multipart/related; type="application/octet-stream"',
                   'multipart/related; type="application/octet-stream"; '
                   "transfer-syntax=1.2.840.10008.1.2.1"):  # fmt: skip
        decoded = case.get(path, Accept=accept)
        assert decoded.status_code == 200, decoded.text
        assert b"transfer-syntax=1.2.840.10008.1.2.1\r\n" in decoded.content
        assert rle.pixel_array[0].tobytes() in decoded.content
    implicit = (
        'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2'
    )
    assert case.get(path, Accept=implicit).status_code == 406


def test_compressed_frames_go_out_as_octet_stream_to_a_viewer_taking_any_syntax(
    case: Case,
) -> None:
    """Cornerstone-based viewers (OHIF) ask ``type=application/octet-stream; transfer-syntax=*``:
    the stored bytes go out unchanged, each part labelled with the stored syntax."""
    rle = _add_testdata(case, "SC_rgb_rle_2frame.dcm")
    uids = (str(rle.StudyInstanceUID), str(rle.SeriesInstanceUID), str(rle.SOPInstanceUID))
    path = f"/dicomweb/studies/{uids[0]}/series/{uids[1]}/instances/{uids[2]}/frames/2,1"
    response = case.get(
        path, Accept='multipart/related; type="application/octet-stream"; transfer-syntax=*'
    )
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith('multipart/related; type="application/octet-stream"')
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + response.content
    )
    parts = list(message.iter_parts())
    assert [(p.get_content_type(), p.get_param("transfer-syntax")) for p in parts] == [
        ("application/octet-stream", "1.2.840.10008.1.2.5")
    ] * 2
    assert [p.get_payload(decode=True) for p in parts] == [
        get_frame(rle.PixelData, n, number_of_frames=2) for n in (1, 0)
    ]


def test_an_instance_without_pixel_data_has_no_frames(case: Case) -> None:
    plan = _read(case.files.rtplan)
    response = case.get(
        f"/dicomweb/studies/{plan.StudyInstanceUID}/series/{plan.SeriesInstanceUID}"
        f"/instances/{plan.SOPInstanceUID}/frames/1"
    )
    assert (response.status_code, response.json()["error"]) == (404, "not_found")


def test_rendered_instance_and_frame_as_jpeg_png_with_quality_and_viewport(case: Case) -> None:
    rle = _add_testdata(case, "SC_rgb_rle_2frame.dcm")
    uids = (str(rle.StudyInstanceUID), str(rle.SeriesInstanceUID), str(rle.SOPInstanceUID))
    path = "/dicomweb/studies/{}/series/{}/instances/{}".format(*uids)
    jpeg = case.get(path + "/rendered")
    assert (jpeg.status_code, jpeg.headers["content-type"]) == (200, "image/jpeg")
    assert Image.open(io.BytesIO(jpeg.content)).size == (rle.Columns, rle.Rows)
    second = case.get(path + "/frames/2/rendered", Accept="image/png")
    assert second.headers["content-type"] == "image/png"
    expected = rle.pixel_array[1]  # RGB, 8 bits: PNG is lossless, so equal
    assert (np.asarray(Image.open(io.BytesIO(second.content))) == expected).all()
    small = case.get(path + "/rendered?viewport=50,50&quality=20", Accept="image/png")
    assert Image.open(io.BytesIO(small.content)).size == (50, 50)
    for bad, status in [("/rendered?viewport=0,5", 400), ("/rendered?quality=101", 422),
                        ("/rendered?viewport=99999,99999", 400), ("/rendered?viewport=a,b", 400),
                        ("/rendered?viewport=" + "9" * 17, 422), ("/frames/3/rendered", 404),
                        ("/frames/0/rendered", 422), ("/bulkdata/ZZZZZZZZ", 422),
                        ("/bulkdata/7FE0001", 422)]:  # fmt: skip
        assert case.get(path + bad).status_code == status, bad
    assert case.get(path + "/rendered", Accept="image/gif").status_code == 406


def test_rendered_monochrome_uses_the_dataset_window(case: Case) -> None:
    mr = _read(case.files.mr)
    path = f"/dicomweb/studies/{mr.StudyInstanceUID}/series/{mr.SeriesInstanceUID}"
    png = case.get(f"{path}/instances/{mr.SOPInstanceUID}/rendered", Accept="image/png")
    image = np.asarray(Image.open(io.BytesIO(png.content)))
    center, width = float(mr.WindowCenter), float(mr.WindowWidth)
    raw = mr.pixel_array.astype(float) * float(mr.get("RescaleSlope", 1)) + float(
        mr.get("RescaleIntercept", 0)
    )
    low, high = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    expected = (np.clip((raw - low) / (high - low), 0, 1) * 255).round().astype(np.uint8)
    assert image.shape == (mr.Rows, mr.Columns) and (image == expected).all()
