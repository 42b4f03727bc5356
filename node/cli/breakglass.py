"""``medledger node break-glass list|review``: the owner hospital's review of break-glass.

A thin client of the node's operator API like :mod:`node.cli.cases`: the node applied its
policy when the opening was on chain; a person reviews it here, afterwards.
"""

from __future__ import annotations

from typing import Annotated

import typer

from node.cli.cases import DEFAULT_API, Api, Json, _show, call

app = typer.Typer(help="Break-glass openings of this hospital's cases, and their review.")


@app.command("list")
def list_openings(
    pending: Annotated[bool, typer.Option("--pending", help="only those not reviewed")] = False,
    api: Api = DEFAULT_API,
    as_json: Json = False,
) -> None:
    """Break-glass openings of our cases: the policy's decision and the review state."""
    path = "/break-glass?pending_review=true" if pending else "/break-glass"
    _show(call(api, "GET", path), as_json, "break-glass openings")


@app.command("review")
def review(
    grant_id: int,
    justified: Annotated[bool, typer.Option(
        "--justified/--unjustified", help="the finding of the review")],
    note: Annotated[str, typer.Option(
        "--note", help="review note: only its hash goes on chain")] = "",
    api: Api = DEFAULT_API,
    as_json: Json = False,
) -> None:  # fmt: skip
    """Record on chain whether a break-glass opening of our case was justified."""
    body = {"justified": justified, "note": note}
    _show(call(api, "POST", f"/break-glass/{grant_id}/review", body), as_json, "review")
