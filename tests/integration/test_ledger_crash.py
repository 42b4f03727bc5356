"""kill -9 a loaded ledger process at random moments; every restart finds a whole chain.

After each kill the data dir is reopened in this process and checked from the ground up:
every block re-imports into a fresh in-memory py-evm chain (so every state root, receipt
root and header is re-derived, not trusted), every block's receipts, commit and log-index
entries are present and agree, and nothing past the head was left half-written.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth.db.atomic import AtomicDB

from ledger.abc import LogFilter
from ledger.chain import Ledger
from ledger.exceptions import BlockNotFound
from ledger.genesis import genesis_params
from ledger.seal import decode_commit, verify_commit
from ledger.typing import BlockNumber
from ledger.vm import chain_class
from tests.ledger.helpers import VALIDATOR_KEY, make_genesis

ROOT = Path(__file__).resolve().parents[2]
KILLS = 4


def run_until_blocks_then_kill(data_dir: Path, rng: random.Random) -> int:
    """Start the loader, wait for it to make blocks, SIGKILL it at a random moment."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.crash_loader", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    blocks_seen = 0
    target = rng.randint(1, 4)
    deadline = time.monotonic() + 60
    try:
        while blocks_seen < target and time.monotonic() < deadline:
            if not selector.select(timeout=1):
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                continue
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "loader exited"
            if line.startswith("block "):
                blocks_seen += 1
        assert blocks_seen >= target, "loader made no blocks in 60 s"
        time.sleep(rng.uniform(0, 0.3))
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        selector.close()
    assert process.returncode == -signal.SIGKILL
    return blocks_seen


def check_whole_chain(data_dir: Path) -> int:
    genesis = make_genesis()
    ledger = Ledger(data_dir, genesis, validator_key=VALIDATOR_KEY)
    try:
        head = ledger.head()
        replay = chain_class(genesis.chain_id).from_genesis(
            AtomicDB(), genesis_params(genesis), genesis.genesis_state()
        )
        for number in range(1, head.block_number + 1):
            block = ledger.get_block_by_number(BlockNumber(number))
            imported = replay.import_block(block).imported_block
            assert imported.hash == block.hash  # state, receipts, header re-derived
            receipts = ledger.get_receipts(block)
            assert len(receipts) == len(block.transactions) > 0
            commit = ledger.get_commit(BlockNumber(number))
            verify_commit(
                commit, ledger.validators(), ledger.chain_id, height=number, block_hash=block.hash
            )
            if number > 1:
                assert decode_commit(block.header.extra_data) == ledger.get_commit(
                    BlockNumber(number - 1)
                )
            expected = [
                (log.address, log.data, tx.hash)
                for tx, receipt in zip(block.transactions, receipts, strict=True)
                for log in receipt.logs
            ]
            indexed = ledger.get_logs(LogFilter(BlockNumber(number), BlockNumber(number)))
            assert [(x.address, x.data, x.transaction_hash) for x in indexed] == expected
        assert replay.get_canonical_head().state_root == head.state_root
        # Nothing past the head: no commit, no index entries.
        with pytest.raises(BlockNotFound):
            ledger.get_commit(BlockNumber(head.block_number + 1))
        beyond = LogFilter(
            BlockNumber(head.block_number + 1), BlockNumber(head.block_number + 10**6)
        )
        assert ledger.get_logs(beyond) == []
        return int(head.block_number)
    finally:
        ledger.close()


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_ledger_killed_by_sigkill_under_load_always_restarts_whole(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    data_dir = tmp_path / "chain"
    heads = []
    for _ in range(KILLS):
        run_until_blocks_then_kill(data_dir, rng)
        heads.append(check_whole_chain(data_dir))
    assert heads == sorted(heads), f"seed {seed}: head went back {heads}"
    assert heads[-1] > heads[0] > 0, f"seed {seed}: no progress {heads}"
