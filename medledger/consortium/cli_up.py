"""``consortium up``: run a local consortium's processes until Ctrl-C (what the demo starts)."""

from __future__ import annotations

import importlib.util
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from keys.passphrase import read_passphrase
from medledger.consortium.chain import client, deploy, open_suite, unlock
from medledger.consortium.cli_common import JsonFlag, clean_errors, emit
from medledger.consortium.local import LocalConsortium
from medledger.consortium.manifest import HospitalEntry
from medledger.consortium.staff import register_operators
from medledger.processes import HOSPITAL_PROCESSES, Process


def available(proc: Process) -> bool:
    """Whether the command's module exists yet (the gateway's runner does not, so far)."""
    return importlib.util.find_spec(proc.module) is not None


def up(
    directory: Annotated[Path, typer.Option("--dir", help="The consortium directory.")],
    exit_when_ready: Annotated[
        bool, typer.Option(help="Stop everything once all processes are healthy.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start every hospital's processes (ledgers, contracts, nodes, gateways), then wait."""
    stopping: list[int] = []
    ready: list[dict[str, str]] = []

    def note(hospital: HospitalEntry, proc: Process) -> None:
        ready.append({"hospital": hospital.slug, "process": proc.name,
                      "url": proc.health_url(hospital.ports)})  # fmt: skip
        if not as_json:
            typer.echo(f"  {hospital.slug:<26} {proc.name:<8} {proc.health_url(hospital.ports)}")

    with clean_errors():
        secret = read_passphrase()
        with LocalConsortium(directory, passphrase=secret) as local:
            skipped = []
            for proc in HOSPITAL_PROCESSES:
                if not available(proc):
                    skipped.append(proc.name)
                    continue
                local.start(proc, on_ready=note)
                if proc.name == "ledger":
                    first = local.manifest.hospitals[0]
                    w3 = client(first.rpc_url)
                    deploy(w3, local.manifest, unlock(directory, first, secret))
                    register_operators(open_suite(w3, local.manifest).consortium,
                                       directory=directory, manifest=local.manifest,
                                       passphrase=secret)  # fmt: skip
            emit({"ready": ready, "not_available": skipped}, as_json,
                 [f"not available yet: {', '.join(skipped)}"] if skipped else [])  # fmt: skip
            if exit_when_ready:
                return
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda s, _f: stopping.append(s))
            while not stopping:
                dead = [(slug, p.name) for slug, p, c in local.running if c.poll() is not None]
                if dead:
                    typer.echo(f"error: {dead[0][0]} {dead[0][1]} exited; stopping", err=True)
                    raise typer.Exit(1)
                time.sleep(0.5)
