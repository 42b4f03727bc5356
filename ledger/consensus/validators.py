"""The validator set of one height: voting power, quorums, weighted round-robin proposer.

Proposer selection follows CometBFT's proposer-priority algorithm, so that over many rounds
each validator proposes in proportion to its power: every step each priority grows by its
power, the highest priority (ties: lowest address) proposes and pays the total power back.
Priorities are kept centred on zero and their spread is capped at twice the total power.
The set is immutable; ``advance`` gives the next height's set (one step per height, whatever
round decided) and ``update`` applies membership changes, which the driver does only at a
height boundary (the machine for ``h + 1`` is built with the set decided at the end of ``h``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from ledger.consensus.exceptions import ConsensusError
from ledger.typing import Address

_WINDOW_FACTOR = 2


@dataclass(frozen=True, slots=True)
class Validator:
    address: Address
    power: int


def _trunc_div(a: int, b: int) -> int:
    """Integer division rounding toward zero (as Go's ``/``), so priorities match CometBFT."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


class ValidatorSet:
    """Validators of a height with their proposer priorities."""

    __slots__ = ("_addresses", "_index", "_powers", "_priorities", "_proposers", "total_power")

    def __init__(
        self, validators: Iterable[Validator], priorities: Mapping[Address, int] | None = None
    ) -> None:
        members = sorted(validators, key=lambda v: v.address)
        if not members:
            raise ConsensusError("a validator set needs at least one validator")
        addresses = tuple(v.address for v in members)
        if len(set(addresses)) != len(addresses):
            raise ConsensusError("duplicate validator address")
        for v in members:
            if len(v.address) != 20 or v.power <= 0:
                raise ConsensusError("a validator has a 20-byte address and positive power")
        self._addresses = addresses
        self._powers = tuple(v.power for v in members)
        self._index = {a: i for i, a in enumerate(addresses)}
        self.total_power = sum(self._powers)
        prio = priorities or {}
        self._priorities = tuple(prio.get(a, 0) for a in addresses)
        self._proposers: dict[int, Address] = {}

    @classmethod
    def equal_power(cls, addresses: Iterable[Address]) -> ValidatorSet:
        """Every address with power 1 (the genesis set before ``Consortium`` exists)."""
        return cls(Validator(a, 1) for a in addresses)

    # Membership and quorums -------------------------------------------------------------

    def __contains__(self, address: object) -> bool:
        return address in self._index

    def __len__(self) -> int:
        return len(self._addresses)

    def __iter__(self) -> Iterator[Validator]:
        return (Validator(a, p) for a, p in zip(self._addresses, self._powers, strict=True))

    @property
    def addresses(self) -> tuple[Address, ...]:
        return self._addresses

    def power_of(self, address: Address) -> int:
        """Voting power of ``address`` (0 for a non-member)."""
        i = self._index.get(address)
        return 0 if i is None else self._powers[i]

    def priority_of(self, address: Address) -> int:
        return self._priorities[self._index[address]]

    def is_quorum(self, power: int) -> bool:
        """``power`` is more than 2/3 of the total (the paper's ``2f + 1``)."""
        return 3 * power > 2 * self.total_power

    def is_one_third(self, power: int) -> bool:
        """``power`` is more than 1/3 of the total (the paper's ``f + 1``)."""
        return 3 * power > self.total_power

    # Proposer rotation ------------------------------------------------------------------

    def _with(self, priorities: list[int]) -> ValidatorSet:
        new = ValidatorSet.__new__(ValidatorSet)
        new._addresses, new._powers, new._index = self._addresses, self._powers, self._index
        new.total_power = self.total_power
        new._priorities = tuple(priorities)
        new._proposers = {}
        return new

    def _normalized(self) -> list[int]:
        prio = list(self._priorities)
        window = _WINDOW_FACTOR * self.total_power
        spread = max(prio) - min(prio)
        if spread > window:
            ratio = (spread + window - 1) // window
            prio = [_trunc_div(p, ratio) for p in prio]
        average = sum(prio) // len(prio)
        return [p - average for p in prio]

    def _increment(self, times: int) -> tuple[ValidatorSet, Address]:
        prio = self._normalized()
        chosen = 0
        for _ in range(times):
            for i, power in enumerate(self._powers):
                prio[i] += power
            # max priority, ties to the lowest address (addresses are sorted ascending)
            chosen = max(range(len(prio)), key=lambda i: (prio[i], -i))
            prio[chosen] -= self.total_power
        return self._with(prio), self._addresses[chosen]

    def proposer(self, round_: int) -> Address:
        """``proposer(h, round)`` for the height this set belongs to."""
        cached = self._proposers.get(round_)
        if cached is not None:
            return cached
        at_round_zero, first = self._increment(1)
        chosen = first if round_ == 0 else at_round_zero._increment(round_)[1]
        self._proposers[round_] = chosen
        return chosen

    def advance(self) -> ValidatorSet:
        """The same validators at the next height (priorities moved one step)."""
        return self._increment(1)[0]

    def update(self, changes: Mapping[Address, int]) -> ValidatorSet:
        """Apply power changes (0 removes a validator) for the next height.

        A new validator starts at ``-1.125 * total`` priority, as in CometBFT, so joining
        (or leaving and re-joining) never jumps the proposer queue.
        """
        powers = dict(zip(self._addresses, self._powers, strict=True))
        prio = dict(zip(self._addresses, self._priorities, strict=True))
        for address, power in changes.items():
            if power < 0:
                raise ConsensusError("voting power cannot be negative")
            if power == 0:
                powers.pop(address, None)
                prio.pop(address, None)
            else:
                powers[address] = power
        total = sum(powers.values())
        for address in powers:
            prio.setdefault(address, -(total + (total >> 3)))
        updated = ValidatorSet((Validator(a, p) for a, p in powers.items()), prio)
        return updated._with(updated._normalized())
