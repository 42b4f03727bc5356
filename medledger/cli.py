"""The one ``medledger`` command line; each package contributes its own sub-commands.

Sub-command groups are imported by name, and :func:`main` imports only the group being run:
every hospital process is ``medledger <group> run``, and importing every group (py-evm,
pydicom, FastAPI, ...) for each of them cost seconds of start-up per process. ``app`` (the
whole tree, for ``--help``, the docs and the tests) is built on first access. A broken
optional backend in one package cannot take the whole CLI down.
"""

from __future__ import annotations

import importlib
import sys

import typer

import ledger  # noqa: F401  - selects eth-hash's fast keccak backend before anything hashes
from common import allocator
from medledger import __version__

# (command name, module path, attribute): each module exposes a Typer app.
SUBCOMMANDS: tuple[tuple[str, str, str], ...] = (
    ("ledger", "ledger.cli", "app"),
    ("keys", "keys.cli", "app"),
    ("blob", "node.cli.blobs", "app"),
    ("node", "node.cli.app", "app"),
    ("audit", "gateway.audit_cli", "app"),
    ("gateway", "gateway.cli", "app"),
    ("consortium", "medledger.consortium.cli", "app"),
)
DEMO = "demo"


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Operate a hospital node, manage keys, audit records."""


def build(only: str | None = None) -> typer.Typer:
    """The command tree: every group, or only the group (or ``demo``) named ``only``."""
    root = typer.Typer(
        name="medledger",
        help="Blockchain-backed record sharing for a medical consortium.",
        no_args_is_help=True,
        add_completion=False,
    )
    root.callback()(_root)
    for name, module, attr in SUBCOMMANDS:
        if only is not None and name != only:
            continue
        try:
            sub = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue  # that package has no CLI yet
        root.add_typer(sub, name=name)
    if only in (None, DEMO):
        root.command(DEMO)(importlib.import_module("medledger.demo").demo)
    return root


_full: list[typer.Typer] = []


def __getattr__(name: str) -> typer.Typer:
    """``medledger.cli.app``: the whole tree, built once on first access."""
    if name != "app":
        raise AttributeError(name)
    if not _full:
        _full.append(build())
    return _full[0]


def _group(argv: list[str]) -> str | None:
    """The group the command line runs, if it names one (``--version``/``--help`` do not)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    known = {name for name, _, _ in SUBCOMMANDS} | {DEMO}
    return first if first in known else None


def main() -> None:
    """Entry point of the ``medledger`` console script."""
    allocator.tune()  # process-wide, so before any command runs (see common.allocator)
    build(_group(sys.argv[1:]))()
