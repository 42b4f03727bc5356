from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth.abc import AtomicDatabaseAPI
from eth.db.atomic import AtomicDB

from ledger.db import LmdbEnvironment, OverlayDB
from ledger.exceptions import StorageError
from tests.ledger.kv_suite import KeyValueStoreSuite


class TestPyEvmAtomicDBReference(KeyValueStoreSuite):
    @pytest.fixture
    def atomic_db(self) -> AtomicDatabaseAPI:
        return AtomicDB()


class TestLmdbStore(KeyValueStoreSuite):
    @pytest.fixture
    def atomic_db(self, tmp_path: Path) -> Iterator[AtomicDatabaseAPI]:
        env = LmdbEnvironment(tmp_path / "kv")
        yield env.store("evm")
        env.close()


class TestOverlayOverLmdb(KeyValueStoreSuite):
    @pytest.fixture
    def atomic_db(self, tmp_path: Path) -> Iterator[AtomicDatabaseAPI]:
        env = LmdbEnvironment(tmp_path / "kv")
        yield OverlayDB(env.store("evm"))
        env.close()


def test_lmdb_writes_survive_close_and_reopen(tmp_path: Path) -> None:
    env = LmdbEnvironment(tmp_path)
    store = env.store("evm")
    with store.atomic_batch() as batch:
        batch[b"a"] = b"1"
    store[b"b"] = b"2"
    env.close()
    env = LmdbEnvironment(tmp_path)
    assert env.store("evm")[b"a"] == b"1"
    assert env.store("evm")[b"b"] == b"2"
    env.close()


def test_named_databases_are_separate_key_spaces(tmp_path: Path) -> None:
    env = LmdbEnvironment(tmp_path)
    env.store("one")[b"k"] = b"1"
    assert b"k" not in env.store("two")
    env.commit({"one": {b"k": None}, "two": {b"k": b"2"}})
    assert b"k" not in env.store("one")
    assert env.store("two")[b"k"] == b"2"
    env.close()


def test_closed_store_refuses_use_with_storage_error(tmp_path: Path) -> None:
    env = LmdbEnvironment(tmp_path)
    store = env.store("evm")
    store.close()
    with pytest.raises(StorageError):
        store[b"x"] = b"y"


def test_second_open_of_same_dir_in_process_is_refused(tmp_path: Path) -> None:
    env = LmdbEnvironment(tmp_path)
    with pytest.raises(StorageError, match="in use"):
        LmdbEnvironment(tmp_path)
    env.close()
    LmdbEnvironment(tmp_path).close()


def test_second_process_cannot_open_a_dir_in_use(tmp_path: Path) -> None:
    env = LmdbEnvironment(tmp_path)
    code = (
        "import sys\nfrom pathlib import Path\nfrom ledger.db import LmdbEnvironment\n"
        "from ledger.exceptions import StorageError\n"
        "try:\n    LmdbEnvironment(Path(sys.argv[1]))\nexcept StorageError:\n    sys.exit(3)\n"
        "sys.exit(0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], timeout=60, check=False)
    assert result.returncode == 3
    env.close()
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], timeout=60, check=False)
    assert result.returncode == 0
