"""Chain backends the contract suite runs on: anvil (reference engine) and our own chain.

Each backend is one context manager yielding a ``Chain``: an RPC URL on 127.0.0.1, funded
(and, on our chain, permitted) private keys, and how to move time forward.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from eth_account import Account
from eth_utils.crypto import keccak

REPO_ROOT = Path(__file__).resolve().parents[2]
ANVIL = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
CHAIN_ID = 1337
N_KEYS = 17
START_TIMEOUT_S = 30.0


def test_keys(n: int = N_KEYS) -> list[str]:
    """Deterministic throwaway keys (test accounts only; never used outside tests)."""
    return ["0x" + keccak(text=f"medledger-contracts-test-{i}").hex() for i in range(n)]


@dataclass
class Chain:
    name: str
    rpc_url: str
    keys: list[str]
    #: Seconds that make a short expiry lapse: anvil jumps its clock, our chain really waits.
    short_window_s: int
    time_travel: bool

    def advance_time(self, seconds: int) -> None:
        """Make the next block's timestamp at least ``seconds`` later."""
        if self.time_travel:
            rpc(self.rpc_url, "evm_increaseTime", [seconds])
            rpc(self.rpc_url, "evm_mine", [])
        else:
            time.sleep(seconds)


def rpc(url: str, method: str, params: list[object]) -> object:
    resp = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    resp.raise_for_status()
    body = resp.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    return body["result"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chain process exited early with {proc.returncode}")
        try:
            rpc(url, "eth_chainId", [])
            return
        except (httpx.HTTPError, RuntimeError):
            time.sleep(0.1)
    raise RuntimeError(f"chain at {url} not ready after {START_TIMEOUT_S}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def anvil_chain() -> Iterator[Chain]:
    """Anvil from the npm registry: Prague, auto-mining, our own funded keys."""
    if not ANVIL.is_file():
        raise RuntimeError(f"{ANVIL} missing: run `make node_modules/.installed`")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent"]
    cmd += ["--chain-id", str(CHAIN_ID), "--hardfork", "prague", "--accounts", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(url, proc)
        keys = test_keys()
        for key in keys:
            address = Account.from_key(key).address
            rpc(url, "anvil_setBalance", [address, hex(10**24)])
        yield Chain("anvil", url, keys, short_window_s=3600, time_travel=True)
    finally:
        _stop(proc)


@contextmanager
def medledger_chain() -> Iterator[Chain]:
    """Our own chain: ``medledger ledger run`` from a generated single-validator genesis.

    The test keys are listed in the genesis as permitted and funded (gas price is zero, the
    funds are for completeness). Fails, never skips, when the ledger is not built yet.
    """
    try:
        import ledger.chain  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            "our chain is not available on this branch: `ledger.chain` is not importable "
            f"({exc}); merge the ledger branches (ledger-core, ledger-rpc) first"
        ) from exc
    keys = test_keys()
    with tempfile.TemporaryDirectory(prefix="medledger-chain-") as tmp:
        accounts = [Account.from_key(k).address for k in keys]
        genesis = {
            "chainId": CHAIN_ID,
            "validators": [accounts[0]],
            "permitted": accounts,
            "alloc": {a: {"balance": hex(10**24)} for a in accounts},
        }
        genesis_path = Path(tmp) / "genesis.json"
        genesis_path.write_text(json.dumps(genesis))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        medledger = shutil.which("medledger", path=str(Path(sys.executable).parent))
        cmd = [medledger or "medledger", "ledger", "run", "--genesis", str(genesis_path)]
        cmd += ["--data-dir", str(Path(tmp) / "data"), "--rpc-host", "127.0.0.1"]
        cmd += ["--rpc-port", str(port), "--validator-key", keys[0]]
        env = dict(os.environ)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            _wait_ready(url, proc)
            yield Chain("medledger", url, keys, short_window_s=4, time_travel=False)
        finally:
            _stop(proc)


BACKENDS = {"anvil": anvil_chain, "medledger": medledger_chain}
