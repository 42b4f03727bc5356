"""An index of logs by block, address and topic, so ``eth_getLogs`` never scans the chain.

Layout in the ``logs`` named database (block numbers big-endian, so keys sort by block):

- ``b"B" + block(8)`` -> RLP ``[block_hash, [[address, [topics], data, tx_hash, tx_index],...]]``
  (only blocks that have logs);
- ``b"A" + address(20) + block(8)`` -> ``b""``: the blocks where ``address`` logged;
- ``b"T" + position(1) + topic(32) + block(8)`` -> ``b""``: the blocks with ``topic`` at
  ``position``.

A query turns each constraint (the address alternatives; each topic position's
alternatives) into a set of candidate blocks by cursor range scans over its posting lists,
intersects them, then decodes only the candidate blocks and filters their logs exactly.
The cost follows the number of matching blocks, not the length of the range.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import rlp

from ledger.abc import IndexedLog, LogFilter
from ledger.db.batch import PendingWrites
from ledger.db.lmdb_store import LmdbEnvironment
from ledger.typing import Address, BlockNumber, Hash32

DB_NAME = "logs"
_BLOCK = b"B"
_ADDRESS = b"A"
_TOPIC = b"T"
MAX_TOPICS = 4

#: One log as produced by a transaction: (address, topics, data).
RawLog = tuple[bytes, Sequence[bytes], bytes]


def _num(number: int) -> bytes:
    return number.to_bytes(8, "big")


def index_writes(
    *,
    block_number: int,
    block_hash: bytes,
    transactions: Sequence[tuple[bytes, Sequence[RawLog]]],
) -> PendingWrites:
    """The index entries of one block: ``transactions`` is ``[(tx_hash, logs), ...]``."""
    writes: PendingWrites = {}
    records = []
    suffix = _num(block_number)
    for tx_index, (tx_hash, logs) in enumerate(transactions):
        for address, topics, data in logs:
            records.append([address, list(topics), data, tx_hash, tx_index])
            writes[_ADDRESS + address + suffix] = b""
            for position, topic in enumerate(topics[:MAX_TOPICS]):
                writes[_TOPIC + bytes([position]) + topic + suffix] = b""
    if records:
        writes[_BLOCK + suffix] = rlp.encode([block_hash, records])
    return writes


class _Posting:
    """One constraint (OR of prefixes): seek the first block >= n present in any of them."""

    def __init__(self, txn: Any, db: Any, prefixes: list[bytes], stop: int) -> None:
        self._cursors = [(prefix, txn.cursor(db=db)) for prefix in prefixes]
        self._stop = stop

    def seek(self, number: int) -> int | None:
        best: int | None = None
        for prefix, cursor in self._cursors:
            if not cursor.set_range(prefix + _num(number)):
                continue
            key = cursor.key()
            if key[: len(prefix)] != prefix:
                continue
            found = int.from_bytes(key[len(prefix) :], "big")
            if found <= self._stop and (best is None or found < best):
                best = found
        return best


class LogIndex:
    """Read side of the index over an :class:`LmdbEnvironment`."""

    def __init__(self, env: LmdbEnvironment) -> None:
        self._env = env
        self._db = env.handle(DB_NAME)

    def _scan_blocks(self, txn: Any, start: int, stop: int) -> Iterator[int]:
        """Every block in ``[start, stop]`` that has logs."""
        cursor = txn.cursor(db=self._db)
        if not cursor.set_range(_BLOCK + _num(start)):
            return
        for key in cursor.iternext(keys=True, values=False):
            if key[:1] != _BLOCK:
                return
            number = int.from_bytes(key[1:], "big")
            if number > stop:
                return
            yield number

    @staticmethod
    def _constraints(log_filter: LogFilter) -> list[list[bytes]]:
        constraints: list[list[bytes]] = []
        if log_filter.addresses:
            constraints.append([_ADDRESS + a for a in log_filter.addresses])
        for position, alternatives in enumerate(log_filter.topics[:MAX_TOPICS]):
            if alternatives is not None:
                constraints.append([_TOPIC + bytes([position]) + t for t in alternatives])
        return constraints

    def _candidates(self, txn: Any, log_filter: LogFilter) -> Iterator[int]:
        """Blocks that satisfy every constraint, by leapfrog intersection of posting lists.

        Each posting list is only *seeked* (LMDB ``set_range``) to the current candidate,
        so the work follows the shortest list, not the block range.
        """
        start, stop = log_filter.from_block, log_filter.to_block
        constraints = self._constraints(log_filter)
        if not constraints:
            yield from self._scan_blocks(txn, start, stop)
            return
        postings = [_Posting(txn, self._db, prefixes, stop) for prefixes in constraints]
        candidate: int = start
        while candidate <= stop:
            agreed = True
            for posting in postings:
                found = posting.seek(candidate)
                if found is None:
                    return
                if found != candidate:
                    candidate = found
                    agreed = False
                    break
            if agreed:
                yield candidate
                candidate += 1

    def _block_logs(
        self, number: int, raw: bytes, log_filter: LogFilter, out: list[IndexedLog]
    ) -> None:
        block_hash, records = rlp.decode(raw)
        addresses = log_filter.addresses
        for log_index, (address, topics, data, tx_hash, tx_index) in enumerate(records):
            if addresses and address not in addresses:
                continue
            if not matches_topics(topics, log_filter.topics):
                continue
            out.append(
                IndexedLog(
                    address=Address(address),
                    topics=tuple(Hash32(t) for t in topics),
                    data=data,
                    block_number=BlockNumber(number),
                    block_hash=Hash32(block_hash),
                    transaction_hash=Hash32(tx_hash),
                    transaction_index=int.from_bytes(tx_index, "big"),
                    log_index=log_index,
                )
            )

    def get_logs(self, log_filter: LogFilter) -> list[IndexedLog]:
        """Every log matching ``log_filter``, in chain order."""
        out: list[IndexedLog] = []
        if log_filter.to_block < log_filter.from_block or len(log_filter.topics) > MAX_TOPICS:
            return out
        with self._env.reader() as txn:
            for number in self._candidates(txn, log_filter):
                raw = txn.get(_BLOCK + _num(number), db=self._db)
                if raw is not None:
                    self._block_logs(number, raw, log_filter, out)
        return out

    def scan_logs(self, log_filter: LogFilter) -> list[IndexedLog]:
        """The same answer by reading every block's logs in the range (no posting lists).

        The brute-force reference for tests and benchmarks; never used to serve queries.
        """
        out: list[IndexedLog] = []
        if log_filter.to_block < log_filter.from_block or len(log_filter.topics) > MAX_TOPICS:
            return out
        with self._env.reader() as txn:
            for number in self._scan_blocks(txn, log_filter.from_block, log_filter.to_block):
                raw = txn.get(_BLOCK + _num(number), db=self._db)
                if raw is not None:
                    self._block_logs(number, raw, log_filter, out)
        return out


def matches_topics(topics: Sequence[bytes], wanted: Sequence[tuple[bytes, ...] | None]) -> bool:
    """``eth_getLogs`` topic matching, as geth does it.

    Position by position, ``None`` matches any topic; a filter with more positions than
    the log has topics never matches (even if the extra positions are ``None``).
    """
    if len(wanted) > len(topics):
        return False
    for position, alternatives in enumerate(wanted):
        if alternatives is not None and topics[position] not in alternatives:
            return False
    return True
