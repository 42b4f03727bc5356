"""Which validators decide each height, as a function of the chain alone.

**Boundary rule.** The validator set of height ``H`` is the list returned by
``Consortium.validators()`` (the validator addresses of active members flagged as validators,
each with voting power 1: the contract has no power field; a validator address is a key of
its own, never a member account) on the state *after block* ``H - 1``; height 1 uses the
genesis state. A membership change made by a transaction in block ``N`` therefore counts
from height ``N + 1``: the precommits that finalize block ``N`` are still those of the old
set, the commit of block ``N + 1`` (carried in block ``N + 2``'s extraData) needs the new
set's quorum. Every node executes block ``N`` before it starts height ``N + 1``, so the rule
needs no lag beyond one block, and a node syncing from scratch reads each historical set
from its own verified state in the same order.

Two details keep this total and deterministic:

- The contract is read only when a block changed its storage (its storage root differs from
  the parent's), so an ordinary block costs two trie look-ups, not a contract call.
- An empty answer (every validator suspended at once) is ignored: the previous set stays, as
  a chain with no validator could never decide again.

Change points are stored by the ledger with the block that caused them (one LMDB write
transaction), so a restart or a crash never recomputes history. :class:`ValidatorSets`
adds CometBFT's proposer priorities on top: equal-power weighted round-robin, advanced once
per height, updated at each change point.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence

import rlp
from eth.abc import BlockHeaderAPI, DatabaseAPI
from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak
from trie.hexary import HexaryTrie

from ledger.consensus.validators import ValidatorSet
from ledger.exceptions import LedgerError, StorageError
from ledger.typing import Address

VALIDATORS_SELECTOR = keccak(b"validators()")[:4]
#: META_DB key holding every change point, RLP ``[[height, [address, ...]], ...]``.
HISTORY_KEY = b"validator-changes"

Members = tuple[Address, ...]
#: ``call(header, calldata) -> output`` of a read-only call to the contract after ``header``.
ContractCall = Callable[[BlockHeaderAPI, bytes], bytes]


def decode_validators(output: bytes) -> Members:
    """The ``address[]`` returned by ``Consortium.validators()``, sorted, duplicates dropped.

    Raises ``LedgerError`` for an answer that is not an ABI ``address[]``.
    """
    try:
        (addresses,) = decode(["address[]"], output)
    except DecodingError as exc:
        raise LedgerError(f"Consortium.validators() returned malformed data: {exc}") from exc
    return tuple(sorted({Address(bytes.fromhex(a[2:])) for a in addresses}))


class ValidatorHistory:
    """The member list in force at every height: the genesis list and its change points."""

    def __init__(self, genesis: Iterable[Address], changes: Sequence[tuple[int, Members]] = ()):
        first = tuple(sorted(set(genesis)))
        if not first:
            raise LedgerError("the genesis validator set is empty")
        self._heights: list[int] = [1]
        self._members: list[Members] = [first]
        for height, members in changes:
            self.add(height, members)

    def at(self, height: int) -> Members:
        """The validators of ``height`` (heights before 1 have the genesis set)."""
        index = bisect.bisect_right(self._heights, height) - 1
        return self._members[max(index, 0)]

    def add(self, height: int, members: Members) -> None:
        """Record that ``members`` validate from ``height`` on (after every earlier change)."""
        if height <= self._heights[-1]:
            raise LedgerError(f"validator change at {height} is not after {self._heights[-1]}")
        if not members:
            raise LedgerError("a validator change cannot empty the set")
        self._heights.append(height)
        self._members.append(tuple(sorted(members)))

    def points(self) -> list[tuple[int, Members]]:
        """The genesis set (at height 1) and every change point, in height order."""
        return list(zip(self._heights, self._members, strict=True))

    def changes(self) -> list[tuple[int, Members]]:
        """Every change point after genesis, in height order."""
        return list(zip(self._heights[1:], self._members[1:], strict=True))

    def encoded_with(self, height: int, members: Members) -> bytes:
        """The stored form of this history plus one more change (not applied here)."""
        items = [[h, list(m)] for h, m in self.changes()]
        items.append([height, list(members)])
        encoded: bytes = rlp.encode(items)
        return encoded

    @classmethod
    def decode(cls, genesis: Iterable[Address], raw: bytes | None) -> ValidatorHistory:
        """Rebuild the history stored under :data:`HISTORY_KEY` (``None``: no change yet)."""
        if raw is None:
            return cls(genesis)
        try:
            items = rlp.decode(raw)
            changes = [
                (int.from_bytes(height, "big"), tuple(Address(a) for a in members))
                for height, members in items
            ]
        except (rlp.exceptions.DecodingError, TypeError, ValueError) as exc:
            raise StorageError(f"stored validator history is corrupt: {exc}") from exc
        return cls(genesis, changes)


class ValidatorSets:
    """The :class:`ValidatorSet` (with proposer priorities) of each height.

    Priorities are a function of the heights alone: from the genesis set, each height
    advances once (``advance``); at a change point the set is advanced, then updated
    (``update``: power 0 for a leaver, 1 for a joiner). Every node computes the same
    proposer for every ``(height, round)``; the walk is cached and restarted only for an
    earlier height.
    """

    def __init__(self, members_at: Callable[[int], Members]) -> None:
        self._members_at = members_at
        self._reset()

    def _reset(self) -> None:
        self._height = 1
        self._set = ValidatorSet.equal_power(self._members_at(1))

    def at(self, height: int) -> ValidatorSet:
        if height < self._height:
            self._reset()
        while self._height < height:
            self._height += 1
            following = self._set.advance()
            members = self._members_at(self._height)
            if members != following.addresses:
                changes = dict.fromkeys(following.addresses, 0)
                changes.update(dict.fromkeys(members, 1))
                following = following.update(changes)
            self._set = following
        return self._set


class ConsortiumValidators:
    """Reads ``Consortium.validators()`` and notices which blocks may have changed it."""

    def __init__(self, contract: Address, db: DatabaseAPI, call: ContractCall) -> None:
        self._contract = contract
        self._key = keccak(contract)
        self._db = db
        self._call = call

    def read(self, header: BlockHeaderAPI) -> Members:
        """The contract's answer on the state after ``header``; ``LedgerError`` if none."""
        return decode_validators(self._call(header, VALIDATORS_SELECTOR))

    def _account(self, state_root: bytes) -> bytes:
        trie = HexaryTrie(self._db, state_root)
        value: bytes = trie.get(self._key)
        return value

    def change_after(
        self, header: BlockHeaderAPI, parent: BlockHeaderAPI, current: Members
    ) -> Members | None:
        """The new list if the block of ``header`` changed it, else ``None``.

        ``None`` too for an unreadable or empty answer (the module docstring says why);
        the same on every node, since it depends on the state only.
        """
        if self._account(header.state_root) == self._account(parent.state_root):
            return None
        try:
            members = self.read(header)
        except LedgerError:
            return None
        if not members or members == current:
            return None
        return members
