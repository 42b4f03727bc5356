"""A case store written before signed deliveries is upgraded in place on open, rows kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from node.cases.store import CaseStore
from node.cases.store_migrate import SCHEMA_V1_GRANTS, VERSION
from node.exceptions import CaseError


def _v1(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute(SCHEMA_V1_GRANTS)
    db.execute(
        "INSERT INTO grants VALUES (5, 'received', 2, ?, '0xA', '0xB', ?, 99, 'bafy', 'tok', "
        "'replicated')",
        (b"\x01" * 32, b"\x02" * 32),
    )
    db.commit()
    db.close()


def test_a_version_1_store_gains_the_delivery_columns_and_keeps_its_grants(tmp_path: Path) -> None:
    path = tmp_path / "cases.sqlite"
    _v1(path)
    store = CaseStore(path)
    row = store.grant_row(5)
    assert row is not None
    assert (row["package_cid"], row["token"], row["state"]) == ("bafy", "tok", "replicated")
    assert (row["issued_at"], row["delivery_signature"], row["delivered_at"]) == (None,) * 3
    assert store.query("PRAGMA user_version") == [(VERSION,)]
    with store.transaction() as db:  # the new column is writable and checked
        db.execute("UPDATE grants SET issued_at = 7 WHERE grant_id = 5")
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE grants SET delivery_signature = x'00' WHERE grant_id = 5")
    store.close()
    again = CaseStore(path)  # opening an upgraded store changes nothing
    assert again.grant_row(5)["issued_at"] == 7  # type: ignore[index]
    again.close()


def test_a_store_from_a_newer_node_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "cases.sqlite"
    CaseStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={VERSION + 1}")
    db.close()
    with pytest.raises(CaseError, match="newer node"):
        CaseStore(path)
