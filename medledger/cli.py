"""The one ``medledger`` command line; each package contributes its own sub-commands.

Sub-command groups are imported lazily by name so that ``medledger --help`` stays fast and a
broken optional backend in one package cannot take the whole CLI down.
"""

from __future__ import annotations

import importlib

import typer

from medledger import __version__, allocator

app = typer.Typer(
    name="medledger",
    help="Blockchain-backed record sharing for a medical consortium.",
    no_args_is_help=True,
    add_completion=False,
)

# (command name, module path, attribute): each module exposes a Typer app.
SUBCOMMANDS: tuple[tuple[str, str, str], ...] = (
    ("ledger", "ledger.cli", "app"),
    ("keys", "keys.cli", "app"),
    ("blob", "node.blob_cli", "app"),
    ("node", "node.cli", "app"),
    ("audit", "gateway.audit_cli", "app"),
    ("gateway", "gateway.cli", "app"),
    ("consortium", "medledger.consortium.cli", "app"),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Operate a hospital node, manage keys, audit records."""


for _name, _module, _attr in SUBCOMMANDS:
    try:
        _sub = getattr(importlib.import_module(_module), _attr)
    except ModuleNotFoundError as exc:
        if exc.name != _module:
            raise
        continue  # that package has no CLI yet
    app.add_typer(_sub, name=_name)

app.command("demo")(importlib.import_module("medledger.demo").demo)


def main() -> None:
    """Entry point of the ``medledger`` console script."""
    allocator.tune()  # process-wide, so before any command runs (see medledger.allocator)
    app()
