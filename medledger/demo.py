"""``medledger demo``: a local consortium on loopback, run end to end.

The demo grows with the system: each step it runs is a step that exists and is tested.
"""

from __future__ import annotations

import typer
from rich.console import Console


def demo(
    exit_when_done: bool = typer.Option(
        False, "--exit", help="Finish after the walkthrough instead of serving until Ctrl-C."
    ),
) -> None:
    """Start a local consortium on loopback and walk through a referral end to end."""
    console = Console()
    console.print("[bold]medledger demo[/bold]: nothing to run yet; the chain lands first.")
    if not exit_when_done:
        console.print("(pass --exit to finish immediately)")
