"""The CLI is one command with a ``--help`` at every level."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from medledger import __version__
from medledger.cli import app


def test_root_help_lists_every_available_group() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output


def test_version_flag_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == __version__


def test_every_subcommand_has_help() -> None:
    """Walk the whole command tree and ask each node for --help."""
    import typer.main

    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_console_script_module_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "medledger", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "medledger" in proc.stdout


def test_running_one_group_imports_only_that_group() -> None:
    """Each hospital process is ``medledger <group> run``: it must not pay for the others'
    imports (py-evm, pydicom, FastAPI apps); ``--help`` at the root still lists them all."""
    probe = (
        "import sys\n"
        "sys.argv = ['medledger', 'ledger', '--help']\n"
        "from medledger import cli\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('ledger.cli', 'node.cli', 'gateway.cli', 'keys.cli',\n"
        "                         'medledger.demo') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "['ledger.cli']"
    assert "medledger ledger" in proc.stdout  # the group's own help was printed


def test_the_command_line_names_its_group_after_root_options() -> None:
    from medledger.cli import _group

    assert _group(["node", "run", "--config", "node.json"]) == "node"
    assert _group(["--version"]) is None
    assert _group(["--help"]) is None
    assert _group(["demo", "--exit"]) == "demo"
    assert _group(["no-such-group"]) is None
