"""``medledger ledger init`` / ``run``: files, key protection, and a clear exit per failure."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from ledger.cli.errors import EXIT_AUTH, EXIT_CONFIG, EXIT_PORT
from ledger.config import load_genesis
from ledger.launch import open_ledger
from medledger.cli import app

SECRET = "correct horse battery staple"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MEDLEDGER_PASSPHRASE", SECRET)
    return CliRunner()


def init(runner: CliRunner, out: Path, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, ["ledger", "init", "--out", str(out), "--json", *extra])
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def test_init_writes_a_valid_consortium_with_private_keystores(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "cfg"
    summary = init(runner, out, "--accounts", "1", "--chain-id", "777")
    genesis = load_genesis(out / "genesis.json")
    assert genesis.chain_id == 777
    assert genesis.validators == [summary["validator"]]
    assert {a.address for a in genesis.accounts} == {summary["validator"], *summary["accounts"]}  # type: ignore[misc]
    for name in ("validator.keystore.json", "account0.keystore.json"):
        path = out / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        key = Account.decrypt(json.loads(path.read_text()), SECRET)
        assert Account.from_key(key).address in (summary["validator"], *summary["accounts"])  # type: ignore[misc]
        assert SECRET not in path.read_text()
    assert json.loads((out / "node.json").read_text())["genesis"] == "genesis.json"


def test_init_takes_the_passphrase_from_a_hidden_prompt_and_never_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEDLEDGER_PASSPHRASE", raising=False)
    result = CliRunner().invoke(
        app, ["ledger", "init", "--out", str(tmp_path / "cfg")], input=f"{SECRET}\n{SECRET}\n"
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    doc = json.loads((tmp_path / "cfg" / "validator.keystore.json").read_text())
    Account.decrypt(doc, SECRET)


def test_init_refuses_to_overwrite_an_existing_config(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "cfg"
    init(runner, out)
    before = (out / "validator.keystore.json").read_bytes()
    result = runner.invoke(app, ["ledger", "init", "--out", str(out)])
    assert result.exit_code == EXIT_CONFIG
    assert "not empty" in result.output
    assert (out / "validator.keystore.json").read_bytes() == before


def test_run_without_a_config_fails_clearly(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ledger", "run", "--config", str(tmp_path / "nope.json")])
    assert result.exit_code == EXIT_CONFIG
    assert "does not exist" in result.output


def test_run_with_a_wrong_passphrase_fails_without_touching_data(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init(runner, tmp_path / "cfg")
    monkeypatch.setenv("MEDLEDGER_PASSPHRASE", "Tr0ub4dor&3")
    result = runner.invoke(
        app,
        [
            "ledger",
            "run",
            "--config",
            str(tmp_path / "cfg/node.json"),
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            "0",
        ],
    )
    assert result.exit_code == EXIT_AUTH
    assert "wrong passphrase" in result.output
    assert "Tr0ub4dor&3" not in result.output
    assert not (tmp_path / "data").exists()


def test_run_on_a_port_in_use_fails_clearly(runner: CliRunner, tmp_path: Path) -> None:
    init(runner, tmp_path / "cfg")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = runner.invoke(
            app,
            [
                "ledger",
                "run",
                "--config",
                str(tmp_path / "cfg/node.json"),
                "--data-dir",
                str(tmp_path / "data"),
                "--port",
                str(port),
            ],
        )
    assert result.exit_code == EXIT_PORT
    assert "address already in use" in result.output
    assert not (tmp_path / "data").exists()


def test_run_refuses_a_data_dir_of_another_chain(runner: CliRunner, tmp_path: Path) -> None:
    init(runner, tmp_path / "a")
    init(runner, tmp_path / "b")
    key = Account.decrypt(json.loads((tmp_path / "a/validator.keystore.json").read_text()), SECRET)
    open_ledger(
        genesis=tmp_path / "a/genesis.json", data_dir=tmp_path / "data", validator_key=bytes(key)
    ).close()
    result = runner.invoke(
        app,
        [
            "ledger",
            "run",
            "--config",
            str(tmp_path / "b/node.json"),
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            "0",
        ],
    )
    assert result.exit_code == EXIT_CONFIG
    assert "another chain" in result.output
