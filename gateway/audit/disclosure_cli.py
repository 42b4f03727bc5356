"""``medledger audit disclosures``: verify a gateway's disclosure log against the chain.

The auditor holds a copy of the gateway's ``disclosures.sqlite`` (opened read-only); the
anchored heads are read from the chain itself (``DisclosureHeadAnchored`` events of the
hospital), so neither the gateway nor its operator is trusted. Exit codes as the other
audit commands: 0 verified, 2 bad input, 4 the log does not verify, 5 the chain is
unreadable.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from eth_utils.address import is_address, to_checksum_address
from rich.console import Console

from contracts.deploy import connect
from gateway.audit.deployment_file import BadDeployment, load_suite
from gateway.audit.disclosure_heads import ChainHeadAnchor
from gateway.audit.disclosure_model import DisclosureReport
from gateway.audit.disclosures import report
from gateway.audit.events import EventReader
from gateway.disclosure.abc import DisclosureLogAPI, Filter
from gateway.disclosure.entry import Entry, Served
from gateway.disclosure.exceptions import AnchorFailed, LogUnavailable
from gateway.disclosure.log import read_log

EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_CHAIN = 2, 4, 5
err = Console(stderr=True, soft_wrap=True)


class _Copy(DisclosureLogAPI):
    """An auditor's read-only copy, loaded once."""

    def __init__(self, entries: list[Entry]) -> None:
        self._entries = entries

    def append(self, *, physician: str, served: Served, at_ms: int) -> Entry:
        raise LogUnavailable("an auditor's copy is read-only")

    def head(self) -> tuple[int, bytes]:
        last = self._entries[-1] if self._entries else None
        return (0, b"\x00" * 32) if last is None else (last.seq, bytes.fromhex(last.hash))

    def entries(self, where: Filter | None = None) -> list[Entry]:
        if where is None:
            return list(self._entries)
        return [e for e in self._entries
                if (where.record is None or e.record == where.record)
                and (where.grant is None or e.grant == where.grant)
                and (where.physician is None
                     or e.physician.lower() == where.physician.lower())]  # fmt: skip


def log_copy(path: Path) -> DisclosureLogAPI:
    """An auditor's copy of a gateway's log file, loaded read-only; raises ``LogUnavailable``."""
    return _Copy(read_log(path))


def _fail(code: int, message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def _hex(value: str | None, what: str, size: int | None) -> str | None:
    if value is None:
        return None
    text = value.removeprefix("0x").lower()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if not raw or (size is not None and len(raw) != size):
        _fail(EXIT_BAD_INPUT, f"{what} must be hex ({size or 'some'} bytes, 0x…)")
    return text


def disclosures(
    log: Annotated[Path, typer.Option("--log", help="A copy of the gateway's disclosures.sqlite.")],
    hospital: Annotated[str, typer.Option("--hospital", help="The gateway's hospital address.")],
    rpc: Annotated[
        str, typer.Option("--rpc", envvar="MEDLEDGER_RPC", help="JSON-RPC URL of any chain node.")
    ],
    contracts: Annotated[
        Path | None, typer.Option("--contracts", help="JSON file of the suite's addresses.")
    ] = None,
    record: Annotated[
        str | None, typer.Option("--record", help="Only this record's reads.")
    ] = None,
    grant: Annotated[
        str | None, typer.Option("--grant", help="Only reads under this grant.")
    ] = None,
    physician: Annotated[
        str | None, typer.Option("--physician", help="Only this physician's reads.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Every read a gateway served, its hash chain recomputed and its anchors checked on chain."""
    if not is_address(hospital):
        _fail(EXIT_BAD_INPUT, "--hospital must be a chain address")
    if physician is not None and not is_address(physician):
        _fail(EXIT_BAD_INPUT, "--physician must be a chain address")
    where = Filter(record=_hex(record, "--record", None), grant=_hex(grant, "--grant", 32),
                   physician=physician)  # fmt: skip
    try:
        suite = load_suite(contracts, {})
        copy = _Copy(read_log(log))
    except (BadDeployment, LogUnavailable) as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
        return
    events = EventReader(connect(rpc), suite.deployment, from_block=suite.from_block)
    chain = ChainHeadAnchor(hospital=to_checksum_address(hospital), events=events, client=None)
    try:
        found = report(hospital=to_checksum_address(hospital), log=copy, chain=chain, where=where)
    except AnchorFailed as exc:
        _fail(EXIT_CHAIN, f"{exc} (is {rpc} a chain node?)")
        return
    _print(found, as_json=as_json)
    if not found.verification.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _print(found: DisclosureReport, *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(found.model_dump_json(indent=2) + "\n")
        return
    out = Console()
    v = found.verification
    state = "[green]verified[/]" if v.ok else "[bold red]NOT VERIFIED[/]"
    out.print(f"{found.hospital}: {v.count} reads, {v.anchors_checked} anchors "
              f"(latest covers {v.anchored_count}): {state}")  # fmt: skip
    for problem in v.problems:
        out.print(f"  [red]•[/] {problem}", highlight=False)
    for e in found.entries:
        out.print(f"{e.seq:>6} {e.at_ms} {e.physician} {e.kind:<9} grant {e.grant[:12]}… "
                  f"record {e.record[:12]}… {e.size} B", highlight=False)  # fmt: skip
