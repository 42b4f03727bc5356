from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from medledger.cli import app

PASSPHRASE = "consortium-test-passphrase"
#: Test-speed key derivation (the CLI's defaults are the production costs).
FAST_KDF = ["--scrypt-n", "1024", "--pbkdf2-iterations", "1000"]


def run_cli(args: list[str], *, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env={"MEDLEDGER_PASSPHRASE": PASSPHRASE, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def consortium_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 4-hospital loopback consortium, shared by a module's read-only tests."""
    out = tmp_path_factory.mktemp("consortium") / "c"
    code, _, err = run_cli(["consortium", "init", "--hospitals", "4", "--out", str(out), *FAST_KDF])
    assert code == 0, err
    return out
