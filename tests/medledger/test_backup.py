"""``consortium backup``: a consistent copy of a hospital directory, taken live."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from medledger.consortium.backup import backup_hospital
from medledger.consortium.manifest import load_manifest
from node.blobstore.embedded import EmbeddedBlobStore
from tests.medledger.conftest import run_cli


def test_live_sqlite_blobs_and_secrets_are_copied(consortium_dir: Path, tmp_path: Path) -> None:
    home = consortium_dir / load_manifest(consortium_dir).hospitals[1].slug
    db = sqlite3.connect(home / "node-data" / "outbox.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
    db.execute("INSERT INTO t VALUES (42)")  # committed, still only in the WAL
    blobs = EmbeddedBlobStore(home / "blobs", durable=False)
    kept = blobs.put([b"ciphertext"])
    blobs.put([b"unpinned"], pin=False)
    (home / "chain" / "consensus.checkpoint").write_bytes(b"cp")
    (home / "chain" / "LOCK").write_bytes(b"")
    try:
        report = backup_hospital(home, tmp_path / "copy")
    finally:
        db.close()
    copy = tmp_path / "copy"
    assert report.sqlite == ["outbox.sqlite"]
    rows = sqlite3.connect(copy / "node-data" / "outbox.sqlite").execute("SELECT v FROM t")
    assert rows.fetchall() == [(42,)]
    assert report.blobs == 1
    restored = EmbeddedBlobStore(copy / "blobs")
    assert restored.pins() == {kept} and b"".join(restored.get(kept)) == b"ciphertext"
    assert (copy / "chain" / "consensus.checkpoint").read_bytes() == b"cp"
    assert not (copy / "chain" / "LOCK").exists()
    for name in ("consortium.secret", "gateway.env", "node-api.token", "swarm.key"):
        assert stat.S_IMODE(os.stat(copy / name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(copy / "keystore").st_mode) == 0o700
    assert (copy / "keystore" / "signing.json").read_bytes() == (
        home / "keystore" / "signing.json"
    ).read_bytes()
    # the validator key (the ledger cannot start without it) and the gateway operator's
    for keys in ("validator/validator.json", "operator/keystore.json"):
        assert (copy / keys).read_bytes() == (home / keys).read_bytes(), keys
        assert stat.S_IMODE(os.stat(copy / keys).st_mode) == 0o600, keys
    assert stat.S_IMODE(os.stat(copy / "validator").st_mode) == 0o700


def test_backup_never_overwrites(consortium_dir: Path, tmp_path: Path) -> None:
    home = consortium_dir / load_manifest(consortium_dir).hospitals[0].slug
    dest = tmp_path / "existing"
    dest.mkdir()
    code, _, err = run_cli(["consortium", "backup", str(home), "--to", str(dest)])
    assert code == 2
    assert "exists" in err
    assert list(dest.iterdir()) == []


def test_backup_of_a_directory_that_is_no_hospital_fails(tmp_path: Path) -> None:
    code, _, err = run_cli(["consortium", "backup", str(tmp_path), "--to", str(tmp_path / "x")])
    assert code == 2
    assert "not a hospital directory" in err
    assert not (tmp_path / "x").exists()
