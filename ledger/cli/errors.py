"""How CLI commands fail: one line on stderr and a distinct exit code per kind of failure."""

from __future__ import annotations

from typing import NoReturn

import typer

EXIT_CONFIG = 2  # missing/invalid config, data dir of another chain
EXIT_AUTH = 3  # wrong passphrase
EXIT_PORT = 4  # cannot listen (port in use)


def fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
