"""The contract of ``CaseStoreAPI``, as a suite every implementation's tests subclass.

The node's verified store (blob store + keys + anchors) will subclass this with its own
``make_store``/``tamper``; ``test_case_store_api.py`` runs it on the in-test file store.
"""

from __future__ import annotations

import abc
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from gateway.abc import CaseStoreAPI
from gateway.exceptions import IntegrityError, NotFound
from gateway.typing import DicomUID
from keys.typing import GrantId

G1, G2 = GrantId(b"\x01" * 32), GrantId(b"\x02" * 32)


def _copy(name: str, directory: Path) -> Path:
    source = get_testdata_file(name)
    assert source is not None
    path = directory / name
    path.write_bytes(Path(str(source)).read_bytes())
    return path


class CaseStoreAPITests(abc.ABC):
    """Subclass, implement the two hooks, and every test here runs on your store."""

    @abc.abstractmethod
    def make_store(self, contents: dict[GrantId, list[Path]], tmp_path: Path) -> CaseStoreAPI:
        """A store holding ``contents`` (DICOM Part 10 files) under each grant."""

    @abc.abstractmethod
    def tamper(self, store: CaseStoreAPI, path: Path) -> None:
        """Corrupt what the store holds for the file ``path`` (ciphertext, blob, ...)."""

    @pytest.fixture
    def files(self, tmp_path: Path) -> dict[str, Path]:
        return {n: _copy(n, tmp_path) for n in ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm")}

    @pytest.fixture
    def store(self, files: dict[str, Path], tmp_path: Path) -> CaseStoreAPI:
        contents = {G1: [files["CT_small.dcm"], files["MR_small.dcm"]], G2: [files["rtplan.dcm"]]}
        return self.make_store(contents, tmp_path)

    @staticmethod
    def _uids(path: Path) -> tuple[DicomUID, DicomUID, DicomUID]:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        return (
            DicomUID(str(ds.StudyInstanceUID)),
            DicomUID(str(ds.SeriesInstanceUID)),
            DicomUID(str(ds.SOPInstanceUID)),
        )

    def test_lists_only_instances_of_the_given_grants(
        self, store: CaseStoreAPI, files: dict[str, Path]
    ) -> None:
        listed = store.list_instances(grants={G1})
        assert {h.sop_uid for h in listed} == {
            self._uids(files["CT_small.dcm"])[2],
            self._uids(files["MR_small.dcm"])[2],
        }
        assert store.list_instances(grants=set()) == []
        assert all("PixelData" not in h.dataset for h in listed)

    def test_narrows_by_study_series_and_instance(
        self, store: CaseStoreAPI, files: dict[str, Path]
    ) -> None:
        study, series, sop = self._uids(files["CT_small.dcm"])
        for narrowing in [{"study": study}, {"study": study, "series": series}, {"sop": sop}]:
            assert [h.sop_uid for h in store.list_instances(grants={G1}, **narrowing)] == [sop]
        assert store.list_instances(grants={G2}, study=study) == []

    def test_opens_the_stored_bytes_unchanged(
        self, store: CaseStoreAPI, files: dict[str, Path]
    ) -> None:
        study, series, sop = self._uids(files["MR_small.dcm"])
        with store.open_instance(grants={G1}, study=study, series=series, sop=sop) as stream:
            assert stream.read() == files["MR_small.dcm"].read_bytes()

    def test_instance_of_another_grant_is_not_found(
        self, store: CaseStoreAPI, files: dict[str, Path]
    ) -> None:
        study, series, sop = self._uids(files["rtplan.dcm"])
        with pytest.raises(NotFound):
            store.open_instance(grants={G1}, study=study, series=series, sop=sop)

    def test_tampered_instance_raises_integrity_error(
        self, store: CaseStoreAPI, files: dict[str, Path]
    ) -> None:
        study, series, sop = self._uids(files["CT_small.dcm"])
        self.tamper(store, files["CT_small.dcm"])
        with pytest.raises(IntegrityError):
            store.open_instance(grants={G1}, study=study, series=series, sop=sop)

    def test_records_are_scoped_and_verified(
        self, store: CaseStoreAPI, files: dict[str, Path]
    ) -> None:
        records = store.list_records(grants={G2})
        assert len(records) == 1
        [record] = records
        with store.open_record(grants={G2}, record=record.record_id) as stream:
            assert stream.read() == files["rtplan.dcm"].read_bytes()
        with pytest.raises(NotFound):
            store.open_record(grants={G1}, record=record.record_id)
        self.tamper(store, files["rtplan.dcm"])
        with pytest.raises(IntegrityError):
            store.open_record(grants={G2}, record=record.record_id)
