"""The ``CaseStoreAPI`` contract suite on the in-test ``FileCaseStore``."""

from __future__ import annotations

from pathlib import Path

from gateway.abc import CaseStoreAPI
from keys.typing import GrantId
from tests.gateway.case_store_suite import CaseStoreAPITests
from tests.gateway.fakes import FileCaseStore


class TestFileCaseStore(CaseStoreAPITests):
    def make_store(self, contents: dict[GrantId, list[Path]], tmp_path: Path) -> CaseStoreAPI:
        store = FileCaseStore()
        for grant, paths in contents.items():
            for path in paths:
                store.add(grant, path)
        return store

    def tamper(self, store: CaseStoreAPI, path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[-1] ^= 0x01
        path.write_bytes(bytes(data))
