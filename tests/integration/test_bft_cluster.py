"""Four real validator processes on loopback reach consensus, survive a crash, halt safely.

Every node is ``medledger ledger run`` from ``ledger init --validators 4`` (p2p ports made
free and timeouts shortened in the test's copy of each node.json). Nothing is mocked.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.integration.bft_cluster import (
    Consortium,
    Load,
    block_hash,
    head,
    sign_transfer,
    wait_until,
)

pytestmark = pytest.mark.integration


def _agree(nodes: list, height: int) -> bool:  # type: ignore[type-arg]
    return len({block_hash(node, height) for node in nodes}) == 1


def _receipt(node, tx_hash: str):  # type: ignore[no-untyped-def]
    return node.rpc("eth_getTransactionReceipt", [tx_hash]).get("result")


def test_four_validators_commit_survive_a_kill_and_halt_without_quorum(tmp_path: Path) -> None:
    consortium = Consortium(tmp_path / "consortium", validators=4, accounts=5)
    try:
        for i in range(4):
            consortium.start(i)
        nodes = consortium.alive()

        # Transactions submitted to different validators all commit, on every node.
        hashes = []
        for i, node in enumerate(nodes):
            raw = sign_transfer(consortium.accounts[i], 0, consortium.chain_id)
            hashes.append(node.rpc("eth_sendRawTransaction", [raw])["result"])
        wait_until(
            lambda: all(_receipt(n, h) is not None for n in nodes for h in hashes),
            30,
            "4 transactions committed on 4 nodes",
        )
        top = min(head(n) for n in nodes)
        assert top >= 1 and _agree(nodes, top)

        # kill -9 one validator under load: the other three keep committing.
        load = Load(consortium, consortium.accounts[4], rate=20)
        load.start()
        try:
            time.sleep(1)
            consortium.kill(3, signal.SIGKILL)
            survivors = consortium.alive()
            before = max(head(n) for n in survivors)
            wait_until(lambda: min(head(n) for n in survivors) >= before + 3, 30, "3 more blocks")

            # Restart it: it syncs the blocks it missed and agrees with the others.
            restarted = consortium.start(3)
            target = max(head(n) for n in survivors)
            wait_until(lambda: head(restarted) >= target, 40, "the restarted node to catch up")
            assert _agree(consortium.alive(), target)
        finally:
            load.stop()
        assert len(load.sent) > 20
        nodes = consortium.alive()
        wait_until(
            lambda: all(_receipt(n, load.sent[-1]) is not None for n in nodes),
            30,
            "the load's last transaction on all nodes",
        )

        # Stop two of four: no quorum, the chain halts; the two left do not fork.
        consortium.kill(2, signal.SIGTERM)
        consortium.kill(3, signal.SIGKILL)
        left = consortium.alive()
        time.sleep(1)
        halted = [head(n) for n in left]
        pending = left[0].rpc(
            "eth_sendRawTransaction",
            [sign_transfer(consortium.accounts[0], 1, consortium.chain_id)],
        )["result"]
        time.sleep(4)
        assert [head(n) for n in left] == halted
        assert _receipt(left[0], pending) is None
        assert _agree(left, min(halted))

        # Restart both: the chain resumes and all four agree.
        consortium.start(2)
        consortium.start(3)
        nodes = consortium.alive()
        wait_until(
            lambda: all(_receipt(n, pending) is not None for n in nodes),
            60,
            "the pending transaction committed after the restart",
        )
        top = min(head(n) for n in nodes)
        assert top > max(halted)
        for height in range(1, top + 1):
            assert _agree(nodes, height), f"nodes disagree at #{height}"
    finally:
        consortium.stop_all()
