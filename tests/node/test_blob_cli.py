"""``medledger blob …`` end to end through the real Typer app and an on-disk store."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from medledger.cli import app
from node.blobstore.embedded import EmbeddedBlobStore
from tests.node.pack_damage import flip_byte

HELLO_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
runner = CliRunner()


def test_cid_prints_only_kubos_cid(tmp_path: Path) -> None:
    f = tmp_path / "hello.txt"
    f.write_bytes(b"hello world\n")
    result = runner.invoke(app, ["blob", "cid", str(f)])
    assert result.exit_code == 0
    assert result.stdout == HELLO_CID + "\n"


def test_cid_with_the_older_profile_differs_for_a_multi_chunk_file(tmp_path: Path) -> None:
    f = tmp_path / "big.bin"
    f.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: one chunk in one profile, four in the other
    new = runner.invoke(app, ["blob", "cid", str(f)]).stdout.strip()
    old = runner.invoke(app, ["blob", "cid", "--profile", "cidv1-256k", str(f)]).stdout.strip()
    assert new.startswith("bafkrei") and old.startswith("bafybei")


def test_put_json_then_get_to_a_file_round_trips(tmp_path: Path) -> None:
    f = tmp_path / "record.bin"
    f.write_bytes(b"ciphertext" * 200_000)
    store = tmp_path / "store"
    put = runner.invoke(app, ["blob", "put", "--store", str(store), "--json", str(f)])
    assert put.exit_code == 0, put.output
    doc = json.loads(put.stdout)
    assert doc["size"] == f.stat().st_size and doc["pinned"] is True
    out = tmp_path / "back.bin"
    got = runner.invoke(app, ["blob", "get", "--store", str(store), doc["cid"], "--out", str(out)])
    assert got.exit_code == 0, got.output
    assert out.read_bytes() == f.read_bytes()


def test_get_of_a_corrupted_blob_exits_4_and_leaves_no_output_file(tmp_path: Path) -> None:
    f = tmp_path / "record.bin"
    f.write_bytes(b"x" * 3_000_000)
    store = tmp_path / "store"
    cid = runner.invoke(app, ["blob", "put", "--store", str(store), str(f)]).stdout.strip()
    opened = EmbeddedBlobStore(store)
    for leaf in [c for c in opened.index.all_cids() if c.startswith("bafkrei")]:
        flip_byte(opened, leaf)
    opened.close()
    out = tmp_path / "back.bin"
    got = runner.invoke(app, ["blob", "get", "--store", str(store), cid, "--out", str(out)])
    assert got.exit_code == 4
    assert "does not match its hash" in got.stderr
    assert list(tmp_path.glob("*back.bin*")) == []


def test_bad_input_gets_a_clear_error_and_its_own_exit_code(tmp_path: Path) -> None:
    store = ["--store", str(tmp_path / "s")]
    missing = runner.invoke(app, ["blob", "put", *store, str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a readable file" in missing.stderr
    malformed = runner.invoke(app, ["blob", "get", *store, "Qm123"])
    assert malformed.exit_code == 2 and "CIDv1" in malformed.stderr
    absent = runner.invoke(app, ["blob", "get", *store, HELLO_CID])
    assert absent.exit_code == 3 and "not in the store" in absent.stderr
    f = tmp_path / "f"
    f.write_bytes(b"1")
    profile = runner.invoke(app, ["blob", "cid", "--profile", "v9", str(f)])
    assert profile.exit_code == 2 and "unknown profile" in profile.stderr


def test_unreachable_daemon_exits_5(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"1")
    result = runner.invoke(app, ["blob", "put", "--api", "http://127.0.0.1:9", str(f)])
    assert result.exit_code == 5 and "unreachable" in result.stderr
