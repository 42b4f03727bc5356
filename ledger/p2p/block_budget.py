"""How many transactions a proposed block may hold so that it arrives before timeoutPropose.

Our proposer executes its block while building it (the others execute it on arrival), so a
block's build time is what the others wait for in the propose step. A block that takes
longer than ``timeoutPropose`` to build makes every other validator prevote nil: the round
is lost, and with it the work of building the block. Gas alone does not bound that time on
a CPU shared by several validators, so :class:`BlockBudget` learns the execution time per
transaction (an exponential moving average over the blocks this node builds or judges)
and caps a block at the count that fits in ``share`` of the round's propose timeout.
"""

from __future__ import annotations

from ledger.consensus import TimeoutConfig, TimeoutKind

#: Until a block has been timed, blocks hold at most this many transactions.
FIRST_LIMIT = 32
MIN_LIMIT = 16
#: Fraction of timeoutPropose(round) a block's execution may take.
SHARE = 0.5
_ALPHA = 0.3
_MIN_SAMPLE = 4


class BlockBudget:
    """The transaction cap of the next proposed block, from measured execution times."""

    def __init__(self, timeouts: TimeoutConfig, *, ceiling: int, share: float = SHARE) -> None:
        self._timeouts = timeouts
        self._ceiling = ceiling
        self._share = share
        self.seconds_per_tx: float | None = None

    def observe(self, transactions: int, seconds: float) -> None:
        """A block of ``transactions`` took ``seconds`` to execute here."""
        if transactions < _MIN_SAMPLE:
            return  # per-block overhead would dominate the sample
        sample = seconds / transactions
        previous = self.seconds_per_tx
        self.seconds_per_tx = (
            sample if previous is None else previous + _ALPHA * (sample - previous)
        )

    def limit(self, round_: int) -> int:
        """Most transactions the block proposed in ``round_`` may hold."""
        if self.seconds_per_tx is None:
            return min(FIRST_LIMIT, self._ceiling)
        budget = self._share * self._timeouts.duration(TimeoutKind.PROPOSE, round_) / 1000
        return max(MIN_LIMIT, min(self._ceiling, int(budget / self.seconds_per_tx)))
