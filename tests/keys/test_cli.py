"""``medledger keys …`` end to end through the real root CLI (Typer's runner, real files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keys.keystore import Keystore
from medledger.cli import app

PASS = "correct horse battery staple"
ENV = {"MEDLEDGER_PASSPHRASE": PASS}
FAST = ["--scrypt-n", "1024", "--pbkdf2-iterations", "1000"]


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["keys", *args], env=env if env is not None else ENV)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def ks(tmp_path: Path) -> Path:
    path = tmp_path / "ks"
    code, out, err = run("new", "hospital", "-k", str(path), *FAST)
    assert code == 0, err
    assert PASS not in out + err
    return path


def test_new_hospital_then_list_show_and_export_as_json(ks: Path) -> None:
    code, out, _ = run("list", "-k", str(ks), "--json")
    assert code == 0
    identities = [row["identity"] for row in json.loads(out)]
    assert identities == ["signing", "p2p", "encryption/v1"]

    code, out, _ = run("show", "encryption", "-k", str(ks), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["version"] == 1 and shown["current"] is True

    code, out, _ = run("export-public", "-k", str(ks))
    public = json.loads(out)
    assert code == 0
    assert public == Keystore.open(ks).export_public()


def test_rotate_makes_a_new_current_version_and_keeps_the_old_one(ks: Path) -> None:
    code, out, err = run("rotate", "-k", str(ks), "--json")
    assert code == 0, err
    assert json.loads(out)["version"] == 2
    code, out, _ = run("list", "-k", str(ks), "--json")
    rows = {r["identity"]: r for r in json.loads(out)}
    assert rows["encryption/v1"]["current"] is False
    assert rows["encryption/v2"]["current"] is True
    assert Keystore.open(ks).load_keyring(PASS).versions == (1, 2)


def test_new_physician_adds_a_labelled_key(ks: Path) -> None:
    code, out, err = run("new", "physician", "staff-17", "-k", str(ks), "--json")
    assert code == 0, err
    address = json.loads(out)["address"]
    code, out, _ = run("show", "physicians/staff-17", "-k", str(ks), "--json")
    assert json.loads(out)["address"] == address


def test_a_wrong_passphrase_is_a_message_and_exit_code_3_not_a_traceback(ks: Path) -> None:
    code, out, err = run("rotate", "-k", str(ks), env={"MEDLEDGER_PASSPHRASE": "nope nope nope"})
    assert code == 3
    assert "wrong passphrase" in err
    assert "Traceback" not in out + err
    assert "nope nope nope" not in out + err


def test_missing_keystore_existing_keystore_and_unknown_identity_have_distinct_codes(
    ks: Path, tmp_path: Path
) -> None:
    code, _, err = run("list", "-k", str(tmp_path / "absent"))
    assert code == 4 and "no keystore" in err
    code, _, err = run("new", "hospital", "-k", str(ks), *FAST)
    assert code == 5 and "already exists" in err
    code, _, err = run("show", "physicians/nobody", "-k", str(ks))
    assert code == 4 and "no identity" in err


def test_without_passphrase_or_terminal_the_cli_says_how_to_provide_one(tmp_path: Path) -> None:
    code, _, err = run("new", "hospital", "-k", str(tmp_path / "x"), *FAST, env={})
    assert code == 3 and "MEDLEDGER_PASSPHRASE" in err
    assert not (tmp_path / "x").exists()


def test_a_short_new_passphrase_is_refused(tmp_path: Path) -> None:
    code, _, err = run(
        "new", "hospital", "-k", str(tmp_path / "y"), env={"MEDLEDGER_PASSPHRASE": "short"}
    )
    assert code == 3 and "at least" in err


def test_the_installed_console_script_runs_keys_commands(ks: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "medledger", "keys", "export-public", "-k", str(ks)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["encryption"]["version"] == 1
