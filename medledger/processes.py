"""The processes a hospital runs, written once: the demo and docker-compose.yml both use this.

Each process runs ``medledger ARGV…`` with the hospital directory (see
``medledger.consortium.hospital``) as working directory, so the argv is the same on loopback
and in a container; only the configs ``consortium init --network`` wrote differ. The test
``tests/medledger/test_compose.py`` fails when the compose file's commands drift from here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

#: The consortium CA in a hospital directory (``medledger.consortium.certs`` writes it):
#: what healthchecks trust when the hospital serves HTTPS.
CA_FILE = "tls/ca.pem"


class PortsLike(Protocol):
    """A hospital's ports: ``layout.Ports`` (planned) or ``manifest.PortsEntry`` (written)."""

    @property
    def rpc(self) -> int: ...
    @property
    def p2p(self) -> int: ...
    @property
    def node_api(self) -> int: ...
    @property
    def gateway(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Process:
    """One long-running process of a hospital and how to tell that it is healthy."""

    name: str
    argv: tuple[str, ...]
    #: ``jsonrpc`` (an ``eth_blockNumber`` answer) or ``http`` (a 200 on ``health_path``).
    health: str
    port: str
    health_path: str = "/"
    #: The module that provides the command (checked by the tests against the CLI tree).
    module: str = ""
    #: Run only at validating hospitals (the others' nodes use a validator's JSON-RPC).
    validators_only: bool = False
    #: Served over HTTPS when the hospital has TLS on (``consortium init --tls``).
    tls_capable: bool = False

    def uses_tls(self, tls: bool) -> bool:
        return tls and self.tls_capable

    def health_url(self, ports: PortsLike, *, tls: bool = False) -> str:
        port = getattr(ports, self.port)
        scheme = "https" if self.uses_tls(tls) else "http"
        return f"{scheme}://127.0.0.1:{port}{self.health_path}"

    def health_argv(self, ports: PortsLike, *, tls: bool = False) -> tuple[str, ...]:
        """The healthcheck command, run inside the process's container or next to it.

        Over HTTPS it trusts the consortium CA of the hospital directory (its working dir).
        """
        url = self.health_url(ports, tls=tls)
        argv = ("python", "-m", "medledger.healthcheck", self.health, url)
        return (*argv, "--ca", CA_FILE) if self.uses_tls(tls) else argv


HOSPITAL_PROCESSES: tuple[Process, ...] = (
    Process(
        name="ledger",
        argv=("ledger", "run", "--config", "ledger.json"),
        health="jsonrpc",
        port="rpc",
        module="ledger.cli",
        validators_only=True,
    ),
    Process(
        name="node",
        argv=("node", "run", "--config", "node.json"),
        health="http",
        port="node_api",
        health_path="/health",
        module="node.cli.app",
        tls_capable=True,
    ),
    Process(
        name="gateway",
        argv=("gateway", "run", "--env-file", "gateway.env", "--operator-keystore", "operator"),
        health="http",
        port="gateway",
        health_path="/openapi.json",
        module="gateway.cli",
        tls_capable=True,
    ),
)


def process(name: str) -> Process:
    for proc in HOSPITAL_PROCESSES:
        if proc.name == name:
            return proc
    raise KeyError(name)


def log_path(hospital_dir: Path, proc: Process) -> Path:
    """Where a launched process's output goes: ``logs/<name>.log`` in the hospital dir."""
    return hospital_dir / "logs" / f"{proc.name}.log"


def launch(
    hospital_dir: Path, proc: Process, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``proc`` for the hospital in ``hospital_dir`` as the demo does (same argv).

    Output is appended to :func:`log_path` (a pipe nobody drains would stall the process
    once full). The passphrase reaches the child through ``MEDLEDGER_PASSPHRASE`` in
    ``env`` (or the parent's environment), never on the command line.
    """
    log = log_path(hospital_dir, proc)
    log.parent.mkdir(mode=0o700, exist_ok=True)
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "medledger", *proc.argv],
            cwd=hospital_dir,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
