"""Four validators (real ledgers, real TCP on loopback, one event loop) agree on blocks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ledger.typing import BlockNumber
from tests.ledger.helpers import KEYS, sign
from tests.ledger.p2p.cluster import Cluster

pytestmark = pytest.mark.asyncio


async def test_transactions_sent_to_different_validators_commit_on_all_four(
    tmp_path: Path,
) -> None:
    cluster = Cluster(tmp_path)
    try:
        for i in range(4):
            cluster.start(i)
        await asyncio.sleep(0.3)
        for i in range(4):
            cluster.submit(i, sign(KEYS[i], nonce=0))
        await cluster.wait_heads(1)
        total = 0
        for _ in range(100):
            total = sum(
                len(ledger.get_block_by_number(BlockNumber(n)).transactions)
                for ledger in cluster.ledgers[:1]
                if ledger is not None
                for n in range(1, ledger.head().block_number + 1)
            )
            if total == 4:
                break
            await asyncio.sleep(0.05)
        assert total == 4
        await cluster.wait_heads(max(cluster.heads()))
        height = min(cluster.heads())
        hashes = {
            ledger.get_block_by_number(BlockNumber(n)).hash
            for ledger in cluster.ledgers
            if ledger is not None
            for n in [height]
        }
        assert len(hashes) == 1
    finally:
        await cluster.close()
