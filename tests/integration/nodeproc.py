"""Start and stop real ``medledger ledger run`` processes on loopback for integration tests."""

from __future__ import annotations

import json
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
from eth_account import Account

PASSPHRASE = "integration-test-passphrase"
PROBE = json.loads((Path(__file__).parent / "probe" / "probe.json").read_text())
_LISTEN = re.compile(r"listening on http://([\d.]+):(\d+)")


def _env() -> dict[str, str]:
    return {**os.environ, "MEDLEDGER_PASSPHRASE": PASSPHRASE}


def medledger(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medledger", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
        check=check,
    )


@dataclass
class DevConfig:
    directory: Path
    validator: Any  # eth_account LocalAccount
    accounts: list[Any]
    chain_id: int


def init_config(directory: Path, *, accounts: int = 1, chain_id: int = 1337) -> DevConfig:
    """``ledger init`` a dev consortium and decrypt its keys for the test client."""
    out = medledger(
        "ledger",
        "init",
        "--out",
        str(directory),
        "--accounts",
        str(accounts),
        "--chain-id",
        str(chain_id),
        "--json",
    )
    summary = json.loads(out.stdout)

    def load(name: str) -> Any:
        doc = json.loads((directory / name).read_text())
        return Account.from_key(Account.decrypt(doc, PASSPHRASE))

    validator = load("validator.keystore.json")
    extra = [load(f"account{i}.keystore.json") for i in range(accounts)]
    assert validator.address == summary["validator"]
    return DevConfig(directory, validator, extra, chain_id)


@dataclass
class NodeProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        return httpx.post(self.url, json=body, timeout=30).json()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def start_node(
    config: Path, data_dir: Path, *, port: int = 0, log_name: str = "node.log", timeout: float = 60
) -> NodeProcess:
    """Run a node and wait until it answers ``eth_blockNumber``."""
    log_path = data_dir.parent / log_name
    offset = log_path.stat().st_size if log_path.exists() else 0
    handle = log_path.open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "medledger",
            "ledger",
            "run",
            "--config",
            str(config / "node.json"),
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=_env(),
    )
    handle.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited with {proc.returncode}:\n{log_path.read_text()}")
        matches = _LISTEN.findall(log_path.read_bytes()[offset:].decode(errors="replace"))
        if matches:
            host, found = matches[-1]
            node = NodeProcess(proc, log_path, host, int(found))
            try:
                if "result" in node.rpc("eth_blockNumber"):
                    return node
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    proc.kill()
    raise TimeoutError(f"node did not start within {timeout}s:\n{log_path.read_text()}")
