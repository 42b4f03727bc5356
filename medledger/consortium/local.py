"""A consortium's processes on this machine, started from the process table.

This is the loopback half of "the demo and docker-compose.yml start the same processes":
:class:`LocalConsortium` launches each hospital's processes with
:func:`medledger.processes.launch` (the argv compose runs), in the order compose's
``depends_on`` gives (ledgers, then contracts, then nodes and gateways), waits for the
same healthchecks, and stops everything in reverse order.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from medledger.consortium.exceptions import ConsortiumError
from medledger.consortium.manifest import HospitalEntry, load_manifest
from medledger.healthcheck import check
from medledger.processes import CA_FILE, Process, launch, log_path

#: How long a process may take to answer its healthcheck.
START_TIMEOUT_S = 60.0


class ProcessFailed(ConsortiumError):
    """A process exited or stayed unhealthy; carries the tail of its output."""


class LocalConsortium:
    """Start, watch and stop the processes of every hospital in a consortium directory."""

    def __init__(self, directory: Path, *, passphrase: str) -> None:
        self.directory = directory
        self.manifest = load_manifest(directory)
        self._env = {"MEDLEDGER_PASSPHRASE": passphrase}
        self.running: list[tuple[str, Process, subprocess.Popen[bytes]]] = []
        #: Launched, not yet seen healthy.
        self._starting: list[tuple[HospitalEntry, Process, subprocess.Popen[bytes]]] = []

    def hospitals(self, proc: Process | None = None) -> list[HospitalEntry]:
        """Members that run ``proc`` (a candidate runs nothing until it is admitted).

        A validators-only process (the ledger) runs at validating members only: one that
        cannot validate has nothing to follow with yet, so its node uses a validator's
        JSON-RPC (see its ``node.json``).
        """
        members = [h for h in self.manifest.hospitals if h.status != "candidate"]
        if proc is not None and proc.validators_only:
            return [h for h in members if h.validator]
        return members

    def start(
        self,
        proc: Process,
        *,
        only: Iterable[str] | None = None,
        timeout_s: float = START_TIMEOUT_S,
        on_ready: Callable[[HospitalEntry, Process], None] = lambda _h, _p: None,
    ) -> None:
        """Start ``proc`` for every hospital (or those in ``only``), then wait until healthy."""
        self.launch(proc, only=only)
        self.wait_healthy(timeout_s=timeout_s, on_ready=on_ready)

    def launch(self, proc: Process, *, only: Iterable[str] | None = None) -> list[str]:
        """Start ``proc`` for every hospital (or those in ``only``) without waiting.

        Processes that do not depend on each other start together this way (compose starts
        the nodes and gateways together too); :meth:`wait_healthy` waits for them. Returns
        the health URLs to be waited for.
        """
        wanted = [h for h in self.hospitals(proc) if only is None or h.slug in set(only)]
        for hospital in wanted:
            child = launch(self.directory / hospital.directory, proc, env=self._env)
            self.running.append((hospital.slug, proc, child))
            self._starting.append((hospital, proc, child))
        return [self.health_url(h, proc) for h in wanted]

    @staticmethod
    def uses_tls(hospital: HospitalEntry) -> bool:
        """Whether the hospital's node API and gateway serve HTTPS (its written URLs say)."""
        return hospital.node_url.startswith("https://")

    def health_url(self, hospital: HospitalEntry, proc: Process) -> str:
        return proc.health_url(hospital.ports, tls=self.uses_tls(hospital))

    def ca_file(self, hospital: HospitalEntry) -> Path:
        """The consortium CA a client of this hospital's HTTPS processes trusts."""
        return self.directory / hospital.directory / CA_FILE

    def wait_healthy(
        self,
        *,
        timeout_s: float = START_TIMEOUT_S,
        on_ready: Callable[[HospitalEntry, Process], None] = lambda _h, _p: None,
    ) -> None:
        """Wait until every launched process answers its healthcheck, in launch order.

        Raises
        ------
        ProcessFailed
            A process exited (with the tail of its log) or stayed unhealthy.
        """
        starting, self._starting = self._starting, []
        for hospital, proc, child in starting:
            self._wait(hospital, proc, child, timeout_s)
            on_ready(hospital, proc)

    def _wait(
        self, hospital: HospitalEntry, proc: Process, child: subprocess.Popen[bytes], timeout: float
    ) -> None:
        url = self.health_url(hospital, proc)
        ca_file = self.ca_file(hospital) if proc.uses_tls(self.uses_tls(hospital)) else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.poll() is not None:
                log = log_path(self.directory / hospital.directory, proc)
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:])
                raise ProcessFailed(f"{hospital.slug} {proc.name} exited:\n{tail}")
            if check(proc.health, url, timeout_s=1.0, ca_file=ca_file) is None:
                return
            time.sleep(0.1)
        raise ProcessFailed(f"{hospital.slug} {proc.name} not healthy after {timeout:.0f} s")

    def stop(self, slug: str | None = None, *, timeout_s: float = 15.0) -> None:
        """Stop every process (or one hospital's), newest first: SIGTERM, then SIGKILL."""
        keep = []
        for entry in reversed(self.running):
            if slug is not None and entry[0] != slug:
                keep.append(entry)
                continue
            child = entry[2]
            child.terminate()
            try:
                child.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)
        self.running = list(reversed(keep))

    def __enter__(self) -> LocalConsortium:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
