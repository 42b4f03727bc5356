"""Options and error handling shared by the ``medledger consortium`` commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from keys.exceptions import KeysError
from medledger.consortium.exceptions import AdmissionError, ConsortiumError

if TYPE_CHECKING:
    from medledger.consortium.admission import Tally

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
ScryptN = Annotated[
    int, typer.Option(help="scrypt cost N of the keystore v3 files (lower only for tests).")
]
Pbkdf2 = Annotated[
    int, typer.Option(help="PBKDF2 iterations of the PKCS#8 key files (lower only for tests).")
]


@contextmanager
def clean_errors() -> Iterator[None]:
    """Our errors become one line on stderr and an exit code, never a traceback."""
    try:
        yield
    except AdmissionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(4) from None
    except ConsortiumError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeysError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from None
    except (ValidationError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def emit(data: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        for line in lines:
            typer.echo(line)


def vote_echo(as_json: bool) -> Callable[[Tally], None]:
    """Prints each vote of a proposal as it lands (nothing with ``--json``: one document)."""

    def show(tally: Tally) -> None:
        last = tally.votes[-1]
        if not as_json:
            typer.echo(f"  vote by {last['voter']}: {last['yes']}/{last['required']}")

    return show
