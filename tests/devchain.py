"""Shared test fixtures: a one-validator ``medledger ledger run`` chain and staff registration.

Used by the contract suite's ``medledger`` backend (``tests/contracts/backends.py``) and by
the case/gateway integration world (``tests/integration/cases_world.py``), which deployed
the same chain and registered staff the same way in two copies before.

The chain permits its senders statically in the genesis, not through a genesis
``Consortium``: these tests deploy their own contract suite (with their own founders and
vote threshold), which a genesis contract would shadow (``ledger.permissions``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from contracts.tx import submit, wait
from contracts.typing import Role

CHAIN_ID = 1337
START_TIMEOUT_S = 30.0
#: Gas limit of a queued staff registration (far above its need; gas is free here).
STAFF_GAS = 1_500_000
_LISTEN = re.compile(r"listening on (http://[\d.]+:\d+)")


def validator_address_of(account: str) -> ChecksumAddress:
    """A founder's validator address for suites deployed on a dev chain (no BFT there).

    A distinct key per member, derived from its account: the contract refuses the member's
    own account (or any other account) as its validator address.
    """
    key = keccak(b"medledger-test-validator-of" + bytes.fromhex(account[2:]))
    return ChecksumAddress(Account.from_key(key).address)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rpc(url: str, method: str, params: list[object]) -> object:
    resp = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    resp.raise_for_status()
    body = resp.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    return body["result"]


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
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


def stop(proc: subprocess.Popen[bytes], *, grace_s: float = 10) -> None:
    """Terminate ``proc``, waiting ``grace_s`` before killing it."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


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


@contextmanager
def dev_chain(senders: Iterable[str], *, name: str, passphrase: str) -> Iterator[str]:
    """``medledger ledger run`` on a genesis that funds and permits ``senders``; yields its URL.

    ``name`` seeds the throwaway validator key (test chains only) and names the temporary
    directory. Raises ``RuntimeError`` when the process does not start.
    """
    from ledger.cli.keystore import write_keystore
    from ledger.cli.nodeconf import NodeConfig, RPCSettings, write_node_config
    from ledger.config import Genesis, PermittedAccount, dump_genesis

    with tempfile.TemporaryDirectory(prefix=f"medledger-{name}-") as tmp:
        conf_dir = Path(tmp) / "config"
        conf_dir.mkdir()
        config = NodeConfig(rpc=RPCSettings(port=0))
        validator = write_keystore(
            conf_dir / config.validator_keystore, keccak(text=f"{name}-validator"), passphrase
        )
        genesis = Genesis(
            chain_id=CHAIN_ID,
            validators=[validator],
            accounts=[
                PermittedAccount(address=a, kind="other", balance=10**24)
                for a in [validator, *senders]
            ],
            block_interval_ms=50,
        )
        (conf_dir / config.genesis).write_text(dump_genesis(genesis), encoding="utf-8")
        write_node_config(conf_dir / "node.json", config)
        log_path = Path(tmp) / "node.log"
        cmd = [sys.executable, "-m", "medledger", "ledger", "run", "--config"]
        cmd += [str(conf_dir / "node.json"), "--data-dir", str(Path(tmp) / "data")]
        cmd += ["--host", "127.0.0.1", "--port", "0", "--log-level", "info"]
        env = {**os.environ, "MEDLEDGER_PASSPHRASE": passphrase}
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            url = _wait_listening(log_path, proc)
            wait_ready(url, proc)
            yield url
        finally:
            stop(proc)


def register_staff(
    w3: Web3,
    consortium: Contract,
    staff: Iterable[tuple[LocalAccount, str, Role, bytes]],
) -> None:
    """Register each ``(hospital, account, role, licence_hash)``; all queued, then awaited.

    Each hospital registers its own staff from its account, so nonces are tracked per
    hospital and the registrations can share one block. Raises ``TransactionFailed`` if one
    reverts.
    """
    nonces: dict[str, int] = {}
    hashes: list[HexBytes] = []
    for hospital, account, role, licence in staff:
        if hospital.address not in nonces:
            nonces[hospital.address] = w3.eth.get_transaction_count(hospital.address, "pending")
        call = consortium.functions.registerStaff(account, int(role), licence)
        hashes.append(submit(w3, hospital, call, gas=STAFF_GAS, nonce=nonces[hospital.address]))
        nonces[hospital.address] += 1
    for tx_hash in hashes:
        wait(w3, tx_hash)
