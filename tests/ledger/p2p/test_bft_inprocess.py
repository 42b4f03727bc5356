"""Four validators (real ledgers, real TCP on loopback, one event loop) agree on blocks."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from ledger.chain import Ledger
from ledger.consensus import (
    KeySigner,
    ValidatorSet,
    VoteKind,
    decode_equivocation,
    sign_vote,
    verify_equivocation,
)
from ledger.p2p import codec
from ledger.p2p.framing import Kind
from ledger.p2p.keys import NodeKey
from ledger.p2p.sync import BlockSync
from ledger.p2p.transport import Transport
from ledger.typing import Address, BlockNumber, Hash32
from tests.ledger.helpers import CHAIN_ID, KEYS, sign
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
        # every validator executed every block once: built, judged or synced, then
        # committed from that result
        ledgers = [ledger for ledger in cluster.ledgers if ledger is not None]
        assert [ledger.executions.reexecutions for ledger in ledgers] == [0, 0, 0, 0]
        assert all(ledger.executions.executions >= height for ledger in ledgers)
    finally:
        await cluster.close()


async def test_replayed_gossip_is_harmless(tmp_path: Path) -> None:
    """The same transaction and consensus frames delivered again change nothing."""
    cluster = Cluster(tmp_path)
    try:
        for i in range(4):
            cluster.start(i)
        node = cluster.nodes[1]
        assert node is not None
        seen: list[tuple[Address, Kind, bytes]] = []
        deliver = node.transport._handler

        def record(peer: Address, kind: Kind, payload: bytes) -> None:
            seen.append((peer, kind, payload))
            deliver(peer, kind, payload)

        node.transport._handler = record
        await asyncio.sleep(0.3)
        raw = sign(KEYS[0], nonce=0)
        cluster.submit(0, raw)
        await cluster.wait_heads(1)
        consensus = [frame for frame in seen if frame[1] is Kind.CONSENSUS]
        assert consensus
        for _ in range(3):
            for frame in seen:
                deliver(*frame)
            deliver(consensus[0][0], Kind.TRANSACTIONS, codec.encode_transactions([raw, raw]))
        await asyncio.sleep(1.0)
        assert cluster.heads() == [1, 1, 1, 1]
        ledger = cluster.ledgers[1]
        assert ledger is not None and len(ledger.mempool) == 0
    finally:
        await cluster.close()


async def test_sync_refuses_a_lying_peer_and_imports_verified_blocks(tmp_path: Path) -> None:
    """A fresh node asks for blocks: a forged commit is refused, genuine blocks import."""
    cluster = Cluster(tmp_path, n=4)
    try:
        for i in range(3):  # three of four: still a quorum
            cluster.start(i)
        await asyncio.sleep(0.3)
        for nonce in range(2):
            cluster.submit(0, sign(KEYS[1], nonce=nonce))
            await cluster.wait_heads(nonce + 1)
        source = cluster.ledgers[0]
        assert source is not None
        pairs = [
            (
                codec.encode_block(source.get_block_by_number(BlockNumber(n))),
                codec.encode_commit(source.get_commit(BlockNumber(n))),
            )
            for n in (1, 2)
        ]
        fresh = Ledger(tmp_path / "fresh", cluster.genesis)
        try:
            transport = Transport(
                key=NodeKey(cluster.keys[3]), chain_id=CHAIN_ID, peers={}, handler=lambda *a: None
            )
            imported: list[int] = []
            sync = BlockSync(
                ledger=fresh,
                transport=transport,
                import_block=lambda b, c: (fresh.import_block(b, c), imported.append(b.number)),
                on_import=lambda: None,
            )
            liar, honest = list(cluster.endpoints)[:2]
            # The liar hands block 1 with block 2's commit: refused, liar suspected.
            sync._inflight = (liar, time.monotonic())  # as if we had asked it
            sync.on_blocks(liar, [(pairs[0][0], pairs[1][1])])
            assert fresh.head().block_number == 0 and liar in sync._suspect
            sync._inflight = (honest, time.monotonic())
            sync.on_blocks(honest, pairs)
            assert imported == [1, 2]
            assert fresh.head().hash == source.head().hash
            # the refused block was never executed (its commit failed first); each
            # imported block was executed once
            assert (fresh.executions.executions, fresh.executions.reexecutions) == (2, 0)
            running = [ledger for ledger in cluster.ledgers if ledger is not None]
            assert [ledger.executions.reexecutions for ledger in running] == [0, 0, 0]
        finally:
            fresh.close()
    finally:
        await cluster.close()


async def test_a_validator_that_double_votes_is_recorded_as_evidence(tmp_path: Path) -> None:
    """Two conflicting prevotes signed by one validator end up in the node's evidence log."""
    cluster = Cluster(tmp_path)
    try:
        node = cluster.start(0)
        await asyncio.sleep(0.2)
        liar = KeySigner(cluster.keys[3])
        height = node.driver.height
        votes = [
            sign_vote(
                liar,
                chain_id=CHAIN_ID,
                kind=VoteKind.PREVOTE,
                height=height,
                round_=0,
                value=Hash32(bytes([v]) * 32),
            )
            for v in (1, 2)
        ]
        for vote in votes:
            node._on_frame(liar.address, Kind.CONSENSUS, codec.encode_consensus(vote))
        for _ in range(100):  # frames are handled in batches, on the loop
            if node.evidence:
                break
            await asyncio.sleep(0.01)
        assert [e["offender"] for e in node.evidence] == ["0x" + liar.address.hex()]
        lines = (cluster.dirs[0] / "evidence.jsonl").read_text().splitlines()
        recorded = json.loads(lines[0])
        evidence = decode_equivocation(bytes.fromhex(recorded["evidence"][2:]))
        verify_equivocation(
            evidence, chain_id=CHAIN_ID, validators=ValidatorSet.equal_power(cluster.endpoints)
        )
    finally:
        await cluster.close()


async def test_a_restarted_proposer_still_holds_the_block_it_proposed(tmp_path: Path) -> None:
    """Alone (no quorum) the proposer proposes; after a restart it can re-send the block."""
    cluster = Cluster(tmp_path)
    try:
        proposer = ValidatorSet.equal_power(cluster.endpoints).proposer(0)
        i = next(n for n, a in enumerate(cluster.endpoints) if a == proposer)
        node = cluster.start(i)
        await asyncio.sleep(0.2)
        cluster.submit(i, sign(KEYS[0], nonce=0))
        for _ in range(100):
            signed = node.driver.checkpoint().signed
            if signed:
                break
            await asyncio.sleep(0.05)
        value = signed[0].value
        assert value is not None
        await cluster.stop(i)
        restarted = cluster.start(i)
        await asyncio.sleep(0.2)
        assert restarted.driver.machine.round == 0
        assert value in restarted.candidates.blocks
        assert restarted.candidates.is_valid(1, value)
    finally:
        await cluster.close()


async def test_a_late_validator_syncs_then_votes_and_executes_each_block_once(
    tmp_path: Path,
) -> None:
    """Blocks by sync (import), then by consensus (judge or build): one execution each."""
    cluster = Cluster(tmp_path)
    try:
        for i in range(3):
            cluster.start(i)
        await asyncio.sleep(0.3)
        for nonce in range(2):
            cluster.submit(nonce % 3, sign(KEYS[2], nonce=nonce))
            await cluster.wait_heads(nonce + 1)
        cluster.start(3)
        await cluster.wait_heads(2)  # the fourth caught up by sync
        for nonce in range(2, 5):
            cluster.submit(3, sign(KEYS[2], nonce=nonce))
            await cluster.wait_heads(nonce + 1)
        ledgers = [ledger for ledger in cluster.ledgers if ledger is not None]
        assert len({ledger.head().hash for ledger in ledgers}) == 1
        assert [ledger.executions.reexecutions for ledger in ledgers] == [0, 0, 0, 0]
        late = ledgers[3]
        assert late.executions.executions >= late.head().block_number == 5
    finally:
        await cluster.close()
