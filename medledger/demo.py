"""``medledger demo``: a local consortium on loopback, run end to end.

Four hospitals (village clinic, township health centre, county hospital, tertiary
hospital) are written by ``consortium init`` into a temporary directory and started from
the process table (a BFT validator, a node and a gateway per hospital: the same commands
docker-compose runs). A case is then referred from the village clinic up to the county
hospital and read there by a physician through the county gateway; a batched record's
inclusion proof is checked against the chain and an auditor traces the case. Every step
is printed as it runs; a step that fails stops the story and the exit code is 1. Steps not
built yet are listed as such, never run as if they were.
"""

from __future__ import annotations

import json
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medledger import demo_flow as flow
from medledger.consortium.local import LocalConsortium
from medledger.demo_setup import (
    PASSPHRASE,
    DemoConsortium,
    deploy_suite_of,
    elect_auditor,
    register_staff,
    write_consortium,
)
from medledger.processes import process

#: Shown, never run: what the story does not cover yet.
NOT_IMPLEMENTED = ()


@dataclass
class StepResult:
    name: str
    ok: bool
    detail: str
    seconds: float


def demo(
    exit_when_done: Annotated[
        bool, typer.Option("--exit", help="Finish after the walkthrough instead of serving.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary at the end.")
    ] = False,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Empty directory to build it in (default: temp).")
    ] = None,
) -> None:
    """Start a local 4-hospital consortium on loopback and walk a referral end to end."""
    console = Console(stderr=as_json)
    with tempfile.TemporaryDirectory(prefix="medledger-demo-") as tmp:
        root = directory or Path(tmp) / "consortium"
        results = _run(root, console, serve=not exit_when_done)
    if as_json:
        typer.echo(json.dumps({
            "ok": all(r.ok for r in results),
            "steps": [vars(r) for r in results],
            "not_implemented": list(NOT_IMPLEMENTED)}, indent=2))  # fmt: skip
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _run(root: Path, console: Console, *, serve: bool) -> list[StepResult]:
    results: list[StepResult] = []

    def step(name: str, action: Callable[[], str]) -> bool:
        started = time.monotonic()
        with console.status(f"[bold]{name}[/bold]…"):
            try:
                detail, ok = action(), True
            except Exception as exc:
                detail, ok = f"{type(exc).__name__}: {exc}", False
        elapsed = time.monotonic() - started
        results.append(StepResult(name, ok, detail, round(elapsed, 2)))
        mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
        # soft_wrap: the terminal wraps long lines, so URLs and ids stay whole to copy
        console.print(f"{mark} {name} [dim]({elapsed:.1f} s)[/dim]\n    {detail}",
                      highlight=False, soft_wrap=True)  # fmt: skip
        return ok

    holder: dict[str, DemoConsortium] = {}

    def init() -> str:
        holder["demo"] = write_consortium(root)
        return ", ".join(h.name for h in holder["demo"].manifest.hospitals)

    if not step("write a 4-hospital consortium (consortium init)", init):
        return results
    demo = holder["demo"]
    story = flow.Story(demo)
    with LocalConsortium(root, passphrase=PASSPHRASE) as local:
        plan: list[tuple[str, Callable[[], str]]] = [
            ("start 4 BFT validators, one per hospital", lambda: _start(local, "ledger")),
            ("deploy the contracts", lambda: f"{len(deploy_suite_of(demo))} contracts"),
            ("launch every hospital's node and gateway", lambda: _launch(local, "node", "gateway")),
            ("register operators and physicians", lambda: f"{len(register_staff(demo))} staff"),
            ("members vote a regulator's key in as auditor", lambda: elect_auditor(demo)),
            ("nodes and gateways answer their healthchecks", lambda: _healthy(local)),
            ("village clinic ingests FHIR records, a prescription, a CT study",
             lambda: flow.ingest(story)),
            ("a batched record's inclusion proof verifies against the chain",
             lambda: flow.batch_inclusion(story)),
            ("village clinic refers the case to the county hospital", lambda: flow.refer(story)),
            ("county hospital accepts the referral", lambda: flow.accept(story)),
            ("village clinic grants the county hospital access", lambda: flow.grant(story)),
            ("county physician signs in with a signed challenge", lambda: flow.sign_in(story)),
            ("county physician redeems the access token on chain", lambda: flow.redeem(story)),
            ("county physician reads the records (decrypted, re-hashed)",
             lambda: flow.read_records(story)),
            ("county physician reads the CT study over DICOMweb", lambda: flow.read_study(story)),
            ("county gateway operator, holding no token, cannot spend a use",
             lambda: flow.operator_without_token(story)),
            ("county physician opens the 3-use grant twice more; a 4th opening is refused",
             lambda: flow.reopen(story)),
            ("tertiary hospital is refused without a referral",
             lambda: flow.tertiary_refused(story)),
            ("village clinic revokes the grant; reads stop at once", lambda: flow.revoke(story)),
            ("auditor signs in with the registered auditor key",
             lambda: flow.auditor_sign_in(story)),
            ("auditor traces the case and the batched record at a gateway",
             lambda: flow.audit(story)),
        ]  # fmt: skip
        for name, action in plan:
            if not step(name, action):
                return results
        for name in NOT_IMPLEMENTED:
            console.print(f"[yellow]-[/yellow] not implemented yet: {name}", highlight=False)
        if serve:
            _serve(console, demo, flow.auditor_page(story))
    return results


def _start(local: LocalConsortium, name: str) -> str:
    proc = process(name)
    local.start(proc)
    return ", ".join(proc.health_url(h.ports) for h in local.hospitals(proc))


def _launch(local: LocalConsortium, *names: str) -> str:
    """Start processes that need nothing of each other; the next steps run meanwhile."""
    urls = [url for name in names for url in local.launch(process(name))]
    return f"{len(urls)} processes starting (as compose starts them: together)"


def _healthy(local: LocalConsortium) -> str:
    ready: list[str] = []
    local.wait_healthy(on_ready=lambda h, p: ready.append(p.health_url(h.ports)))
    return ", ".join(ready)


def _serve(console: Console, demo: DemoConsortium, auditor_page: str) -> None:
    for h in demo.manifest.hospitals:
        console.print(f"  {h.name:<26} gateway {h.gateway_url}/docs", soft_wrap=True)
    console.print(f"  {'auditor page of the case':<26} {auditor_page}", soft_wrap=True)
    console.print("Serving until Ctrl-C.")
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _f: stopping.append(s))
    while not stopping:
        time.sleep(0.2)
