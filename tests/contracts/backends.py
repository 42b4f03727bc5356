"""Chain backends the contract suite runs on: anvil (reference engine) and our own chain.

Each backend is one context manager yielding a ``Chain``: an RPC URL on 127.0.0.1, funded
(and, on our chain, permitted) private keys, and how to move time forward.
"""

from __future__ import annotations

import os
import re
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
N_KEYS = 18  # the last one only ticks the clock on our chain
START_TIMEOUT_S = 30.0


def dev_keys(n: int = N_KEYS) -> list[str]:
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
            # Real time passes; then a block is needed for ``latest`` to carry the new time
            # (our chain makes no empty blocks), so a throwaway transfer is mined.
            time.sleep(seconds)
            self._tick()

    def _tick(self) -> None:
        clock = Account.from_key(self.keys[-1])
        nonce = int(
            str(rpc(self.rpc_url, "eth_getTransactionCount", [clock.address, "pending"])), 16
        )
        tx = {
            "to": clock.address,
            "value": 0,
            "gas": 21_000,
            "gasPrice": int(str(rpc(self.rpc_url, "eth_gasPrice", [])), 16),
            "nonce": nonce,
            "chainId": CHAIN_ID,
        }
        raw = clock.sign_transaction(tx).raw_transaction
        tx_hash = rpc(self.rpc_url, "eth_sendRawTransaction", ["0x" + raw.hex()])
        deadline = time.monotonic() + 30
        while rpc(self.rpc_url, "eth_getTransactionReceipt", [tx_hash]) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("clock tick transaction was not mined within 30s")
            time.sleep(0.05)


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
        keys = dev_keys()
        for key in keys:
            address = Account.from_key(key).address
            rpc(url, "anvil_setBalance", [address, hex(10**24)])
        yield Chain("anvil", url, keys, short_window_s=3600, time_travel=True)
    finally:
        _stop(proc)


_LISTEN = re.compile(r"listening on (http://[\d.]+:\d+)")
#: Test-only passphrase for the throwaway validator keystore.
_PASSPHRASE = "contracts-test-passphrase"


@contextmanager
def medledger_chain() -> Iterator[Chain]:
    """Our own chain: ``medledger ledger run`` from a generated single-validator genesis.

    The test keys are listed in the genesis as permitted (static permissions: the contract
    suite is deployed by the tests, not at genesis) and funded. Fails, never skips, when
    the ledger is not on this branch.
    """
    try:
        import ledger.chain  # noqa: F401
        from ledger.cli.keystore import write_keystore
        from ledger.cli.nodeconf import NodeConfig, RPCSettings, write_node_config
        from ledger.config import Genesis, PermittedAccount, dump_genesis
    except ImportError as exc:
        raise RuntimeError(
            "our chain is not available on this branch: the ledger is not importable "
            f"({exc}); merge the ledger branches (ledger-core, ledger-rpc) first"
        ) from exc
    keys = dev_keys()
    with tempfile.TemporaryDirectory(prefix="medledger-chain-") as tmp:
        conf_dir = Path(tmp) / "config"
        conf_dir.mkdir()
        config = NodeConfig(rpc=RPCSettings(port=0))
        validator_key = keccak(text="medledger-contracts-test-validator")
        validator = write_keystore(conf_dir / config.validator_keystore, validator_key, _PASSPHRASE)
        accounts = [Account.from_key(k).address for k in keys]
        genesis = Genesis(
            chain_id=CHAIN_ID,
            validators=[validator],
            accounts=[
                PermittedAccount(address=a, kind="other", balance=10**24)
                for a in [validator, *accounts]
            ],
            block_interval_ms=50,
        )
        (conf_dir / config.genesis).write_text(dump_genesis(genesis), encoding="utf-8")
        write_node_config(conf_dir / "node.json", config)
        log_path = Path(tmp) / "node.log"
        cmd = [sys.executable, "-m", "medledger", "ledger", "run", "--config"]
        cmd += [str(conf_dir / "node.json"), "--data-dir", str(Path(tmp) / "data")]
        cmd += ["--host", "127.0.0.1", "--port", "0", "--log-level", "info"]
        env = {**os.environ, "MEDLEDGER_PASSPHRASE": _PASSPHRASE}
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            url = _wait_listening(log_path, proc)
            _wait_ready(url, proc)
            yield Chain("medledger", url, keys, short_window_s=4, time_travel=False)
        finally:
            _stop(proc)


def _wait_listening(log_path: Path, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"medledger exited with {proc.returncode}: {log_path.read_text()}")
        found = _LISTEN.findall(log_path.read_text(errors="replace"))
        if found:
            return str(found[-1])
        time.sleep(0.1)
    raise RuntimeError(f"medledger did not listen within {START_TIMEOUT_S}s")


BACKENDS = {"anvil": anvil_chain, "medledger": medledger_chain}
