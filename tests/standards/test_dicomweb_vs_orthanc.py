"""The gateway's DICOMweb diffed against Orthanc's (Debian's, with its DICOMweb plugin).

One study of four instances built from pydicom's bundled samples, with the Study UID and
patient attributes rewritten to agree (and fresh Series/SOP UIDs): CT and MR in Explicit VR
Little Endian, an NM image in JPEG 2000 and an RGB secondary capture in RLE Lossless. It
is uploaded to Orthanc and stored in our gateway under a redeemed grant, and both answer
the same requests (raw httpx, and ``dicomweb-client`` on ours). What must match is
asserted: UIDs and counts, the attributes present per QIDO level (Orthanc's are a subset of
ours), the transfer syntax served, pixel data equal after decoding both, bulk data bytes.

Intentional differences (asserted as such, so a change on either side shows up):

- WADO-RS of the JPEG 2000 instance with no transfer syntax or an uncompressed one:
  Orthanc 1.10 answers 500 (its DCMTK transcoder has no JPEG 2000 codec without the GDCM
  plugin); we transcode with pylibjpeg-openjpeg.
- A transfer syntax nobody knows (``1.2.3.4``): Orthanc 400, we 406 (PS3.18 §8.7.3.5).
- A compressed syntax the instance is not stored in (baseline JPEG for the RLE instance):
  Orthanc transcodes (lossy); we refuse with 406: we never encode into a lossy syntax.
- Instance parts: ours carry ``Content-Location`` and ``transfer-syntax`` in their
  ``Content-Type``; Orthanc's carry neither (its frame parts have Content-Location).
- QIDO answers: ours add ``InstanceAvailability`` (0008,0056); ``includefield=all`` on
  instances returns every instance-level attribute for us, Orthanc's main tags only.
- ``/rendered`` of the JPEG 2000 instance: Orthanc 400 (cannot decode), ours 200.
- ``/rendered`` of an image with a Window Center/Width (the MR): Orthanc 1.10 maps the
  pixel range min..max to 0..255 and ignores the window; we apply the dataset's window
  (PS3.18 §10.4.1.1.4 renders with the dataset's VOI). Without a window both agree.
- Frames with ``Accept: */*``: Orthanc decodes compressed frames to octet-stream; we
  send them as stored in their own media type (PS3.18 lets the origin server choose;
  as stored costs no decoding). Asked as octet-stream, both decode to the same bytes.
- ``SpecificCharacterSet``: Orthanc writes its own (``ISO_IR 100``) on series and instance
  answers of instances that have none; we repeat what the instance says.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.gateway.started import Served, served_gateway
from tests.standards.orthanc import Orthanc, have_orthanc, orthanc

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_orthanc(), reason="Debian's orthanc is installed by make test"),
]

EXPLICIT, IMPLICIT = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"
DICOM = 'multipart/related; type="application/dicom"'
SAMPLES = {"ct": "CT_small.dcm", "mr": "MR_small.dcm", "j2k": "JPEG2000.dcm",
           "rle": "SC_rgb_rle.dcm"}  # fmt: skip


@dataclass
class Both:
    ours: Served
    pacs: Orthanc
    study: str
    files: dict[str, Path]
    uids: dict[str, tuple[str, str, str]]

    def get(self, who: str, path: str, accept: str | None = None) -> httpx.Response:
        headers = dict(self.ours.auth) if who == "ours" else {}
        if accept is not None:
            headers["Accept"] = accept
        base = self.ours.dicomweb if who == "ours" else self.pacs.dicomweb_url
        return httpx.get(base + path, headers=headers, timeout=30)

    def instance(self, name: str) -> str:
        return "/studies/{}/series/{}/instances/{}".format(*self.uids[name])

    def original(self, name: str) -> pydicom.Dataset:
        return pydicom.dcmread(self.files[name])


def _study(directory: Path) -> tuple[str, dict[str, Path], dict[str, tuple[str, str, str]]]:
    study = generate_uid()
    files, uids = {}, {}
    for number, (name, sample) in enumerate(SAMPLES.items(), start=1):
        ds = pydicom.dcmread(str(get_testdata_file(sample)))
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = (
            study, generate_uid(), generate_uid())  # fmt: skip
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = (
            "P-7", "Doe^Jane", "19700101", "F")  # fmt: skip
        ds.StudyID, ds.StudyDate, ds.StudyTime, ds.AccessionNumber = (
            "S1",
            "20260101",
            "101010",
            "A1",
        )
        ds.ReferringPhysicianName, ds.SeriesNumber, ds.InstanceNumber = "Ref^Dr", number, 1
        files[name] = directory / f"{name}.dcm"
        ds.save_as(files[name], enforce_file_format=True)
        uids[name] = (study, str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID))
    return study, files, uids


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    study, files, uids = _study(tmp_path_factory.mktemp("study"))
    with orthanc(tmp_path_factory.mktemp("orthanc")) as pacs:
        for path in files.values():
            pacs.upload(path.read_bytes())
        with served_gateway(list(files.values())) as ours:
            yield Both(ours, pacs, study, files, uids)


def _parts(response: httpx.Response) -> list[tuple[dict[str, str], bytes]]:
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + response.content)
    assert not message.defects
    return [(dict(p.items()), p.get_payload(decode=True)) for p in message.iter_parts()]


def _dataset(response: httpx.Response) -> pydicom.Dataset:
    assert response.status_code == 200, response.text[:300]
    [(_, payload)] = _parts(response)
    return pydicom.dcmread(io.BytesIO(payload))


def _by(results: list[dict[str, Any]], tag: str) -> dict[str, dict[str, Any]]:
    return {r[tag]["Value"][0]: r for r in results}


#: SpecificCharacterSet (Orthanc writes its own) and TimezoneOffsetFromUTC (every level in
#: PS3.18 Table 10.6.3-3; Orthanc lists it with instances only): left out of level diffs.
ANY_LEVEL = {"00080005", "00080201"}


def test_study_level_qido_has_orthancs_attributes_and_values(both: Both) -> None:
    ours = both.get("ours", f"/studies?StudyInstanceUID={both.study}").json()
    theirs = both.get("theirs", f"/studies?StudyInstanceUID={both.study}").json()
    assert len(ours) == len(theirs) == 1
    assert set(theirs[0]) <= set(ours[0])
    for tag in ("0020000D", "00100020", "00100010", "00201206", "00201208", "00200010"):
        assert ours[0][tag]["Value"] == theirs[0][tag]["Value"], tag
    assert sorted(ours[0]["00080061"]["Value"]) == sorted(theirs[0]["00080061"]["Value"])


def test_includefield_all_at_study_level_has_no_series_or_instance_attribute(both: Both) -> None:
    query = f"?StudyInstanceUID={both.study}&includefield=all"
    ours = both.get("ours", "/studies" + query).json()[0]
    theirs = both.get("theirs", "/studies" + query).json()[0]
    assert set(theirs) <= set(ours)
    instance_level = both.get("theirs", f"/studies/{both.study}/instances").json()[0]
    study_level = both.get("theirs", "/studies" + query).json()[0]
    below = set(instance_level) - set(study_level) - ANY_LEVEL  # series and instance tags
    assert below and not below & set(ours), below & set(ours)


def test_series_level_qido_agrees(both: Both) -> None:
    ours = _by(both.get("ours", f"/studies/{both.study}/series").json(), "0020000E")
    theirs = _by(both.get("theirs", f"/studies/{both.study}/series").json(), "0020000E")
    assert ours.keys() == theirs.keys() and len(ours) == 4
    for uid, answer in theirs.items():
        assert set(answer) - ANY_LEVEL <= set(ours[uid]), uid
        for tag in ("00080060", "00200011", "00201209"):
            assert ours[uid][tag]["Value"] == answer[tag]["Value"], tag


def test_instance_level_qido_carries_modality_and_series_attributes_as_orthanc(
    both: Both,
) -> None:
    for path in (f"/studies/{both.study}/instances", "/instances"):
        ours = _by(both.get("ours", path).json(), "00080018")
        theirs = _by(both.get("theirs", path).json(), "00080018")
        assert ours.keys() == theirs.keys() and len(ours) == 4
        for sop, answer in theirs.items():
            assert set(answer) - ANY_LEVEL <= set(ours[sop]), (path, set(answer) - set(ours[sop]))
            for tag in ("0020000E", "00200011", "00080060", "00080016", "0020000D"):
                assert ours[sop][tag]["Value"] == answer[tag]["Value"], (path, tag)


@pytest.mark.parametrize("name", ["ct", "mr", "rle"])
def test_no_transfer_syntax_asked_is_explicit_little_endian_on_both(both: Both, name: str
                                                                     ) -> None:  # fmt: skip
    ours = _dataset(both.get("ours", both.instance(name), DICOM))
    theirs = _dataset(both.get("theirs", both.instance(name), DICOM))
    assert ours.file_meta.TransferSyntaxUID == theirs.file_meta.TransferSyntaxUID == EXPLICIT
    assert ours.SOPInstanceUID == theirs.SOPInstanceUID == both.uids[name][2]
    assert (ours.pixel_array == theirs.pixel_array).all()
    assert (ours.pixel_array == both.original(name).pixel_array).all()


def test_jpeg2000_is_transcoded_by_us_and_refused_by_orthanc(both: Both) -> None:
    for accept in (DICOM, f"{DICOM}; transfer-syntax={IMPLICIT}"):
        assert both.get("theirs", both.instance("j2k"), accept).status_code == 500  # listed
    ours = _dataset(both.get("ours", both.instance("j2k"), DICOM))
    assert ours.file_meta.TransferSyntaxUID == EXPLICIT
    assert (ours.pixel_array == both.original("j2k").pixel_array).all()
    client = DICOMwebClient(url=both.ours.dicomweb, headers=both.ours.auth)
    client.set_http_retry_params(retry=False)
    got = client.retrieve_instance(*both.uids["j2k"], media_types=(("application/dicom",),))
    assert got.file_meta.TransferSyntaxUID == EXPLICIT
    as_stored = client.retrieve_instance(*both.uids["j2k"])  # its default: transfer-syntax=*
    assert as_stored.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.91"


@pytest.mark.parametrize("name", list(SAMPLES))
def test_any_transfer_syntax_serves_what_is_stored_on_both(both: Both, name: str) -> None:
    accept = f"{DICOM}; transfer-syntax=*"
    ours = _dataset(both.get("ours", both.instance(name), accept))
    theirs = _dataset(both.get("theirs", both.instance(name), accept))
    stored = both.original(name)
    assert ours.file_meta.TransferSyntaxUID == theirs.file_meta.TransferSyntaxUID
    assert ours.file_meta.TransferSyntaxUID == stored.file_meta.TransferSyntaxUID
    assert ours.PixelData == theirs.PixelData == stored.PixelData


@pytest.mark.parametrize("name", ["ct", "rle"])
def test_implicit_little_endian_asked_is_served_by_both(both: Both, name: str) -> None:
    accept = f"{DICOM}; transfer-syntax={IMPLICIT}"
    ours = _dataset(both.get("ours", both.instance(name), accept))
    theirs = _dataset(both.get("theirs", both.instance(name), accept))
    assert ours.file_meta.TransferSyntaxUID == theirs.file_meta.TransferSyntaxUID == IMPLICIT
    assert (ours.pixel_array == theirs.pixel_array).all()


def test_unservable_syntaxes_are_refused_where_orthanc_differs(both: Both) -> None:
    unknown = f"{DICOM}; transfer-syntax=1.2.3.4"
    assert both.get("ours", both.instance("ct"), unknown).status_code == 406
    assert both.get("theirs", both.instance("ct"), unknown).status_code == 400  # listed
    lossy = f"{DICOM}; transfer-syntax=1.2.840.10008.1.2.4.50"
    assert both.get("ours", both.instance("rle"), lossy).status_code == 406
    assert both.get("theirs", both.instance("rle"), lossy).status_code == 200  # listed


@pytest.mark.parametrize("name", ["ct", "mr"])
def test_pixel_data_bulk_data_uris_resolve_to_the_same_bytes_on_both(both: Both, name: str
                                                                      ) -> None:  # fmt: skip
    values = []
    for who in ("ours", "theirs"):
        [meta] = both.get(who, both.instance(name) + "/metadata").json()
        uri = meta["7FE00010"]["BulkDataURI"]
        headers = dict(both.ours.auth) if who == "ours" else {}
        response = httpx.get(uri, headers=headers, timeout=30)
        assert response.status_code == 200, (who, response.text[:200])
        values.append(b"".join(payload for _, payload in _parts(response)))
    assert values[0] == values[1] == both.original(name).PixelData


def test_every_instance_part_of_ours_carries_content_location(both: Both) -> None:
    ours = _parts(both.get("ours", f"/studies/{both.study}", f"{DICOM}; transfer-syntax=*"))
    expected = {both.ours.dicomweb + both.instance(n) for n in SAMPLES}
    assert {headers["Content-Location"] for headers, _ in ours} == expected
    assert {headers["Content-Type"].split(";")[0] for headers, _ in ours} == {"application/dicom"}
    theirs = _parts(both.get("theirs", f"/studies/{both.study}", f"{DICOM}; transfer-syntax=*"))
    assert len(theirs) == 4 and not any("Content-Location" in h for h, _ in theirs)  # listed


@pytest.mark.parametrize("name", ["ct", "rle"])
def test_rendered_png_matches_orthancs(both: Both, name: str) -> None:
    images = []
    for who in ("ours", "theirs"):
        response = both.get(who, both.instance(name) + "/rendered", "image/png")
        assert (response.status_code, response.headers["content-type"]) == (200, "image/png")
        images.append(np.asarray(Image.open(io.BytesIO(response.content)), dtype=np.int16))
    assert images[0].shape == images[1].shape
    assert int(np.abs(images[0] - images[1]).max()) <= 1, name
    jpeg = both.get("ours", both.instance(name) + "/rendered")
    assert jpeg.headers["content-type"] == "image/jpeg"


def test_rendered_jpeg2000_works_here_and_not_in_orthanc(both: Both) -> None:
    assert both.get("ours", both.instance("j2k") + "/rendered").status_code == 200
    assert both.get("theirs", both.instance("j2k") + "/rendered").status_code == 400  # listed


def test_rendered_with_a_window_differs_from_orthancs_min_max_as_listed(both: Both) -> None:
    mr = both.original("mr")
    ours, theirs = (
        np.asarray(Image.open(io.BytesIO(both.get(who, both.instance("mr") + "/rendered",
                                                  "image/png").content)), dtype=float)
        for who in ("ours", "theirs")
    )  # fmt: skip
    raw = mr.pixel_array.astype(float)
    min_max = ((raw - raw.min()) / (raw.max() - raw.min()) * 255).round()
    assert np.abs(theirs - min_max).max() <= 1  # Orthanc: the pixel range, window ignored
    assert np.abs(ours - min_max).max() > 1  # ours: the dataset's window (test_dicomweb_client)


@pytest.mark.parametrize("name", ["rle", "ct"])
def test_frames_asked_as_octet_stream_are_the_same_decoded_bytes_on_both(both: Both, name: str
                                                                          ) -> None:  # fmt: skip
    accept = 'multipart/related; type="application/octet-stream"'
    found = []
    for who in ("ours", "theirs"):
        response = both.get(who, both.instance(name) + "/frames/1", accept)
        assert response.status_code == 200, (who, response.text[:200])
        [(headers, payload)] = _parts(response)
        assert headers["Content-Type"].startswith("application/octet-stream")
        assert "Content-Location" in headers
        found.append(payload)
    assert found[0] == found[1] == both.original(name).pixel_array.tobytes()


def test_frames_with_any_accept_differ_as_listed(both: Both) -> None:
    ours = both.get("ours", both.instance("rle") + "/frames/1", "*/*")
    theirs = both.get("theirs", both.instance("rle") + "/frames/1", "*/*")
    assert 'type="image/dicom-rle"' in ours.headers["content-type"]  # as stored
    assert "application/octet-stream" in theirs.headers["content-type"]  # decoded


def test_a_whole_study_in_the_default_syntax_streams_every_instance_decoded(both: Both) -> None:
    response = both.get("ours", f"/studies/{both.study}", DICOM)
    assert response.status_code == 200
    parts = _parts(response)
    datasets = [pydicom.dcmread(io.BytesIO(payload)) for _, payload in parts]
    assert {str(d.SOPInstanceUID) for d in datasets} == {u[2] for u in both.uids.values()}
    assert {str(d.file_meta.TransferSyntaxUID) for d in datasets} == {EXPLICIT}
    kinds = [h["Content-Type"].replace('"', "") for h, _ in parts]  # the parser adds quotes
    assert kinds == [f"application/dicom; transfer-syntax={EXPLICIT}"] * 4
    # Orthanc cannot transcode the JPEG 2000 instance, so its whole study fails (listed)
    assert both.get("theirs", f"/studies/{both.study}", DICOM).status_code == 500
