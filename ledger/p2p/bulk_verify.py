"""Recover the signers of consensus messages and commit seals in bulk, off the event loop.

What this is, precisely: **bulk recovery, not batch verification.** libsecp256k1 (through
coincurve, the secp256k1 binding we use) has no batch verification for ECDSA; batch
verification exists for Schnorr signatures (BIP 340, in secp256k1-zkp), not for the
recoverable ECDSA signatures our votes and seals are. So every signature is still
recovered on its own, by ``secp256k1_ecdsa_recover``. What is batched:

- the signatures of every consensus message that arrived together (one drain of the
  node's inbox) and every commit seal of a sync reply are collected and recovered in
  **one call** on a worker thread (``run_in_executor``): coincurve's compiled cffi calls
  release the GIL, so the event loop goes on with frames meanwhile;
- each recovered signer lands in :data:`ledger.sigcache.SIGNERS`, so the boundary checks
  that follow (``verify_vote``, ``verify_proposal``, ``verify_commit``) are cache hits, and
  a signature seen again (a precommit that becomes a commit seal, then the next block's
  parent commit) is never recovered a second time.

A signature that does not recover is left out of the cache; the boundary check that
follows raises for it as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from ledger.abc import Commit
from ledger.consensus import ConsensusError, Message, Proposal, proposal_sign_bytes, vote_sign_bytes
from ledger.exceptions import SealError
from ledger.seal import precommit_digest, recover_signer
from ledger.sigcache import SIGNERS

Pair = tuple[bytes, bytes]  # (digest, signature)


def message_pair(message: Message, chain_id: int) -> Pair | None:
    """The ``(digest, signature)`` a boundary check will recover; ``None`` if malformed."""
    try:
        if isinstance(message, Proposal):
            digest = proposal_sign_bytes(
                chain_id=chain_id,
                height=message.height,
                round_=message.round,
                value=message.value,
                valid_round=message.valid_round,
            )
        else:
            digest = vote_sign_bytes(
                chain_id=chain_id,
                kind=message.kind,
                height=message.height,
                round_=message.round,
                value=message.value,
            )
    except ConsensusError:
        return None
    return digest, message.signature


def commit_pairs(commit: Commit, chain_id: int) -> list[Pair]:
    """The ``(digest, signature)`` of every seal of ``commit``."""
    digest = precommit_digest(
        chain_id=chain_id, height=commit.height, round=commit.round, block_hash=commit.block_hash
    )
    return [(digest, seal.signature) for seal in commit.seals]


def recover_all(pairs: Iterable[Pair]) -> int:
    """Recover every pair not cached yet into :data:`SIGNERS`; return how many were new.

    The one call a batch costs. Failures are skipped (the boundary check reports them).
    """
    recovered = 0
    for digest, signature in pairs:
        if (digest, signature) in SIGNERS:
            continue
        try:
            recover_signer(signature, digest)
        except SealError:
            continue
        recovered += 1
    return recovered


class BulkRecovery:
    """One worker thread that recovers a batch of signatures per call."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sig-recovery")
        self.batches = 0
        self.signatures = 0

    async def prefetch(self, pairs: list[Pair]) -> None:
        """Recover the uncached ``pairs`` in one call off the loop (no-op when all cached)."""
        todo = [pair for pair in dict.fromkeys(pairs) if pair not in SIGNERS]
        if not todo:
            return
        self.batches += 1
        self.signatures += len(todo)
        await asyncio.get_running_loop().run_in_executor(self._pool, recover_all, todo)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
