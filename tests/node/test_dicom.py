"""DICOM studies from folders and zips of real pydicom sample files; crafted bad inputs."""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.exceptions import (
    DuplicateDicomInstance,
    EmptyStudy,
    InvalidDicom,
    MissingDicomUid,
    MultipleStudies,
    NotDicom,
    PatientUnresolved,
    PayloadTooLarge,
    TruncatedDicom,
    UnsafeArchive,
)
from node.formats.dicom import read_instance, read_study
from node.formats.dicom_archive import DicomLimits
from tests.node.dicom_samples import (
    STUDY_UID,
    derived_instance,
    sample_bytes,
    sample_path,
    write_study,
)

SHIPPED = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "rtplan.dcm", "rtdose.dcm",
           "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "SC_rgb_rle.dcm", "test-SR.dcm",
           "image_dfl.dcm", "liver_1frame.dcm"]  # fmt: skip


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_sample_reads_as_one_instance_kept_byte_for_byte(name: str) -> None:
    study = read_study(sample_path(name))
    assert len(study.instances) == 1
    assert study.instances[0].content_hash == hashlib.sha256(sample_bytes(name)).digest()
    assert [data for _, data in study.instance_bytes()] == [sample_bytes(name)]


def test_folder_study_groups_series_and_every_instance_is_provable(tmp_path: Path) -> None:
    files = write_study(tmp_path)
    study = read_study(tmp_path)
    assert study.study_uid == STUDY_UID and study.patient_id == "MRN-0042"
    assert len(study.instances) == 5
    assert {i.series_uid for i in study.instances} == {f"{STUDY_UID}.1", f"{STUDY_UID}.2"}
    assert {data for _, data in study.instance_bytes()} == set(files.values())
    tree = study.tree()
    for inst in study.instances:
        proof = tree.instance_proof(inst.series_uid, inst.sop_uid)
        assert proof.instance_hash == inst.content_hash
        assert proof.study_root() == tree.root
    assert "MRN" not in repr(study)


def test_zip_of_the_same_study_gives_the_same_study_root(tmp_path: Path) -> None:
    files = write_study(tmp_path / "folder")
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    assert read_study(archive).tree().root == read_study(tmp_path / "folder").tree().root


def test_two_studies_in_one_input_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.dcm").write_bytes(sample_bytes("CT_small.dcm"))
    (tmp_path / "b.dcm").write_bytes(sample_bytes("MR_small.dcm"))
    with pytest.raises(MultipleStudies, match="more than one study"):
        read_study(tmp_path)


def test_non_dicom_file_in_a_study_refuses_the_whole_study(tmp_path: Path) -> None:
    write_study(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(NotDicom, match=r"notes\.txt"):
        read_study(tmp_path)
    with pytest.raises(NotDicom):
        read_study(sample_path("no_meta.dcm"))  # no preamble/DICM: not a Part 10 file


@pytest.mark.parametrize("missing", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
def test_instance_without_a_uid_is_refused(tmp_path: Path, missing: str) -> None:
    data = derived_instance("MR_small.dcm", series=f"{STUDY_UID}.1", sop=f"{STUDY_UID}.1.1",
                            drop=(missing,))  # fmt: skip
    (tmp_path / "x.dcm").write_bytes(data)
    with pytest.raises(MissingDicomUid, match=missing):
        read_study(tmp_path)


@pytest.mark.parametrize("name", ["MR_truncated.dcm", "rtplan_truncated.dcm"])
def test_pydicoms_own_truncated_samples_are_refused(name: str) -> None:
    with pytest.raises(TruncatedDicom, match="truncated"):
        read_study(sample_path(name))


MR = sample_bytes("MR_small.dcm")
# MR_small ends with an optional Data Set Trailing Padding element (FFFC,FFFC); the file cut
# right before it is complete and valid, so that single position is not a truncation.
PADDING_START = MR.rfind(b"\xfc\xff\xfc\xff")


def test_mr_image_without_its_trailing_padding_is_a_complete_file() -> None:
    assert 1500 < PADDING_START < len(MR)
    assert read_instance(MR[:PADDING_START], name="no-padding.dcm") is not None


@given(st.integers(min_value=1, max_value=len(MR) - 1).filter(lambda c: c != PADDING_START))
def test_mr_image_cut_anywhere_is_refused(cut: int) -> None:
    # A cut between two header elements before the UIDs reads as a file without UIDs.
    with pytest.raises((TruncatedDicom, NotDicom, MissingDicomUid)):
        read_instance(MR[:cut], name="cut.dcm")


def test_mr_image_cut_in_its_pixel_data_is_refused_at_every_position() -> None:
    for cut in range(len(MR) - 400, len(MR)):
        if cut != PADDING_START:
            with pytest.raises(TruncatedDicom):
                read_instance(MR[:cut], name="cut.dcm")


def test_reused_sop_uid_with_other_bytes_and_mixed_patients_are_refused(tmp_path: Path) -> None:
    a = derived_instance("MR_small.dcm", series="1.2.3", sop="1.2.3.4", study="1.2")
    b = derived_instance("CT_small.dcm", series="1.2.3", sop="1.2.3.4", study="1.2")
    (tmp_path / "a.dcm").write_bytes(a)
    (tmp_path / "a_copy.dcm").write_bytes(a)  # an exact duplicate is harmless
    assert len(read_study(tmp_path).instances) == 1
    (tmp_path / "b.dcm").write_bytes(b)
    with pytest.raises(DuplicateDicomInstance):
        read_study(tmp_path)
    os.remove(tmp_path / "b.dcm")
    c = derived_instance("CT_small.dcm", series="1.2.3", sop="1.2.3.5", study="1.2", patient="P9")
    (tmp_path / "c.dcm").write_bytes(c)
    with pytest.raises(PatientUnresolved, match="different patients") as info:
        read_study(tmp_path)
    assert "P9" not in str(info.value) and "MRN" not in str(info.value)


def _zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize("evil", ["../escape.dcm", "/etc/passwd", "C:/x.dcm", "a/../../b.dcm",
                                  "..\\win.dcm"])  # fmt: skip
def test_zip_with_path_traversal_is_refused(tmp_path: Path, evil: str) -> None:
    archive = _zip(tmp_path / "evil.zip", [(evil, sample_bytes("MR_small.dcm"))])
    with pytest.raises(UnsafeArchive, match="escape"):
        read_study(archive)


def test_zip_bomb_symlink_member_and_size_limits_are_refused(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.zip", [("zeros.dcm", b"\x00" * (20 << 20))])
    with pytest.raises(UnsafeArchive, match="expands"):
        read_study(bomb)
    link = zipfile.ZipInfo("link.dcm")
    link.external_attr = 0o120777 << 16
    with pytest.raises(UnsafeArchive, match="symlink"):
        read_study(_zip(tmp_path / "link.zip", [(link, b"/etc/passwd")]))
    ok = _zip(tmp_path / "ok.zip", [("a.dcm", sample_bytes("MR_small.dcm"))])
    with pytest.raises(PayloadTooLarge):
        read_study(ok, limits=DicomLimits(max_file_bytes=1000))
    with pytest.raises(PayloadTooLarge):
        read_study(ok, limits=DicomLimits(max_files=0))


def test_folder_symlink_empty_folder_and_corrupt_zip_are_refused(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "link.dcm").symlink_to(sample_path("MR_small.dcm"))
    with pytest.raises(UnsafeArchive, match="symlink"):
        read_study(tmp_path / "s")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyStudy):
        read_study(tmp_path / "empty")
    good = _zip(tmp_path / "g.zip", [("a.dcm", sample_bytes("MR_small.dcm"))]).read_bytes()
    (tmp_path / "cut.zip").write_bytes(good[: len(good) // 2])
    with pytest.raises((NotDicom, TruncatedDicom)):
        read_study(tmp_path / "cut.zip")  # no central directory left: read as one bad file


def test_reading_an_invalid_patient_id_logs_and_warns_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """pydicom warns and logs about invalid values (quoting some); nothing may reach a log."""
    long_id = "SECRET-" + "9" * 70  # LO is at most 64 characters: pydicom would complain
    with pytest.warns(UserWarning, match="exceeds the maximum length"):  # pydicom, on writing
        data = derived_instance("MR_small.dcm", series="1.2.3", sop="1.2.3.4", patient=long_id)
    (tmp_path / "a.dcm").write_bytes(data)
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = read_study(tmp_path)
    assert study.patient_id == long_id
    assert not [r for r in caplog.records if r.name.startswith("pydicom")]
    assert not caught


def test_a_file_changed_after_validation_is_refused_when_read_again(tmp_path: Path) -> None:
    write_study(tmp_path)
    study = read_study(tmp_path)
    (tmp_path / "ct" / "1.dcm").write_bytes(sample_bytes("CT_small.dcm"))
    with pytest.raises(InvalidDicom, match="changed while"):
        list(study.instance_bytes())
    os.remove(tmp_path / "ct" / "1.dcm")
    with pytest.raises(InvalidDicom, match="disappeared"):
        list(study.instance_bytes())
