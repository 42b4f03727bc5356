"""Start and kill real ``medledger node run`` processes for integration tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.integration.nodeproc import PASSPHRASE
from tests.node.chain_env import API_TOKEN, CONSORTIUM_SECRET, SECRET_ENV

_LISTEN = re.compile(r"node API listening on http://([\d.]+):(\d+)")


def node_env() -> dict[str, str]:
    return {**os.environ, "MEDLEDGER_PASSPHRASE": PASSPHRASE, SECRET_ENV: CONSORTIUM_SECRET}


@dataclass
class NodeServiceProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=60
        )

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


def start_node_service(config: Path, *, timeout: float = 60) -> NodeServiceProcess:
    log_path = config.parent / "node-service.log"
    offset = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medledger", "node", "run", "--config", str(config),
             "--port", "0"],
            stdout=handle, stderr=subprocess.STDOUT, env=node_env(),
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited with {proc.returncode}:\n{log_path.read_text()}")
        found = _LISTEN.findall(log_path.read_bytes()[offset:].decode(errors="replace"))
        if found:
            host, port = found[-1]
            node = NodeServiceProcess(proc, log_path, f"http://{host}:{port}")
            try:
                if node.client().get("/health").status_code == 200:
                    return node
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    proc.kill()
    raise TimeoutError(f"node did not start within {timeout}s:\n{log_path.read_text()}")


def medledger_node(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medledger", "node", *args],
        capture_output=True, text=True, env=node_env(), timeout=timeout, check=False,
    )  # fmt: skip


def wait_all_anchored(client: httpx.Client, ids: list[str], timeout: float = 60) -> list[Any]:
    deadline = time.monotonic() + timeout
    pending = list(ids)
    done: list[Any] = []
    while pending and time.monotonic() < deadline:
        still = []
        for rid in pending:
            body = client.get(f"/records/{rid}").json()
            (done if body["state"] == "anchored" else still).append(body)
        pending = [b["record_id"] for b in still]
        if pending:
            time.sleep(0.1)
    assert not pending, f"{len(pending)} records not anchored in {timeout}s"
    return done
