"""Chain backends the contract suite runs on: anvil (reference engine) and our own chain.

Each backend is one context manager yielding a ``Chain``: an RPC URL on 127.0.0.1, funded
(and, on our chain, permitted) private keys, and how to move time forward.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_utils.crypto import keccak

from tests.devchain import CHAIN_ID, dev_chain, free_port, rpc, stop, wait_ready

__all__ = ["BACKENDS", "CHAIN_ID", "Chain", "free_port", "rpc"]

REPO_ROOT = Path(__file__).resolve().parents[2]
ANVIL = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
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
        wait_ready(url, proc)
        keys = dev_keys()
        for key in keys:
            address = Account.from_key(key).address
            rpc(url, "anvil_setBalance", [address, hex(10**24)])
        yield Chain("anvil", url, keys, short_window_s=3600, time_travel=True)
    finally:
        stop(proc)


#: Test-only passphrase for the throwaway validator keystore.
_PASSPHRASE = "contracts-test-passphrase"


@contextmanager
def medledger_chain() -> Iterator[Chain]:
    """Our own chain: ``medledger ledger run`` from a generated single-validator genesis.

    The test keys are listed in the genesis as permitted (static permissions: the contract
    suite is deployed by the tests, not at genesis) and funded (``tests.devchain``).
    """
    keys = dev_keys()
    senders = [Account.from_key(k).address for k in keys]
    with dev_chain(senders, name="contracts-test", passphrase=_PASSPHRASE) as url:
        yield Chain("medledger", url, keys, short_window_s=4, time_travel=False)


BACKENDS = {"anvil": anvil_chain, "medledger": medledger_chain}
