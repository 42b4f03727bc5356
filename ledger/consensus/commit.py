"""Commits: the > 2/3 precommit signatures that make a block final.

The commit format, its RLP encoding (carried in the next header's extraData) and the
verifier live in :mod:`ledger.seal` (the ledger core's public API); this module only builds
a :class:`ledger.abc.Commit` from a :class:`Decide` and checks one against a
:class:`ValidatorSet`, so the state machine's precommits and the header seals are one thing.
"""

from __future__ import annotations

from ledger import seal
from ledger.abc import Commit, CommitSeal
from ledger.consensus.types import Decide
from ledger.consensus.validators import ValidatorSet
from ledger.typing import BlockNumber, Hash32

encode_commit = seal.encode_commit
decode_commit = seal.decode_commit


def build_commit(decision: Decide) -> Commit:
    """The commit of a decision: its precommits' signatures, sorted by validator."""
    seals = sorted(
        (CommitSeal(v.validator, v.signature) for v in decision.precommits),
        key=lambda s: s.validator,
    )
    return Commit(BlockNumber(decision.height), decision.round, decision.value, tuple(seals))


def verify_commit(
    commit: Commit,
    *,
    chain_id: int,
    validators: ValidatorSet,
    block_hash: Hash32 | None = None,
    height: int | None = None,
) -> None:
    """Check that ``commit`` proves its block final under ``validators`` (by voting power).

    Raises
    ------
    ledger.exceptions.SealError
        A subclass naming the failure (``InvalidSeal``, ``DuplicateSeal``,
        ``UnknownValidator``, ``InsufficientVotingPower``, ``CommitMismatch``).
    """
    seal.verify_commit(
        commit,
        {v.address: v.power for v in validators},
        chain_id,
        height=height,
        block_hash=block_hash,
    )
