"""The shared test suite every key-value backend passes (model: py-evm's own suites).

A backend's test module subclasses :class:`KeyValueStoreSuite` and provides an
``atomic_db`` fixture. py-evm's reference backend, ``AtomicDB``, runs the same suite, so
our stores are held to py-evm's own semantics.
"""

from __future__ import annotations

import pytest
from eth.abc import AtomicDatabaseAPI
from eth.tools.db.atomic import AtomicDatabaseBatchAPITestSuite
from eth.tools.db.base import DatabaseAPITestSuite


class KeyValueStoreSuite(DatabaseAPITestSuite, AtomicDatabaseBatchAPITestSuite):
    @pytest.fixture
    def db(self, atomic_db: AtomicDatabaseAPI) -> AtomicDatabaseAPI:
        return atomic_db

    def test_batch_that_raises_leaves_every_key_as_before(
        self, atomic_db: AtomicDatabaseAPI
    ) -> None:
        atomic_db[b"a"] = b"1"
        with pytest.raises(RuntimeError), atomic_db.atomic_batch() as batch:
            batch[b"a"] = b"2"
            batch[b"b"] = b"3"
            del batch[b"a"]
            raise RuntimeError("abort")
        assert atomic_db[b"a"] == b"1"
        assert b"b" not in atomic_db

    def test_batch_reads_see_its_own_writes_and_deletes(self, atomic_db: AtomicDatabaseAPI) -> None:
        atomic_db[b"k"] = b"old"
        with atomic_db.atomic_batch() as batch:
            batch[b"k"] = b"new"
            assert batch[b"k"] == b"new"
            assert atomic_db[b"k"] == b"old"
            del batch[b"k"]
            assert not batch.exists(b"k")
            batch[b"k"] = b"again"
        assert atomic_db[b"k"] == b"again"

    def test_many_keys_and_large_and_empty_values_round_trip(
        self, atomic_db: AtomicDatabaseAPI
    ) -> None:
        big = bytes(range(256)) * 4096
        with atomic_db.atomic_batch() as batch:
            for i in range(500):
                batch[i.to_bytes(4, "big")] = i.to_bytes(4, "big") * 3
            batch[b"big"] = big
            batch[b"empty"] = b""
        assert all(atomic_db[i.to_bytes(4, "big")] == i.to_bytes(4, "big") * 3 for i in range(500))
        assert atomic_db[b"big"] == big
        assert atomic_db[b"empty"] == b""
        assert b"empty" in atomic_db
