"""``medledger ledger …``: create a dev consortium config and run a node."""

from __future__ import annotations

import typer

from ledger.cli.init_cmd import init
from ledger.cli.run_cmd import run

app = typer.Typer(
    name="ledger",
    help="The permissioned chain: create a dev consortium config, run a node.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("init")(init)
app.command("run")(run)
