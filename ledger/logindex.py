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

from collections.abc import Iterable, Iterator, Sequence
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


class LogIndex:
    """Read side of the index over an :class:`LmdbEnvironment`."""

    def __init__(self, env: LmdbEnvironment) -> None:
        self._env = env
        self._db = env.handle(DB_NAME)

    def _scan_blocks(self, txn: Any, prefix: bytes, start: int, stop: int) -> Iterator[int]:
        """Block numbers in ``[start, stop]`` under ``prefix`` (keys ``prefix + block``)."""
        cursor = txn.cursor(db=self._db)
        if not cursor.set_range(prefix + _num(start)):
            return
        plen = len(prefix)
        for key in cursor.iternext(keys=True, values=False):
            if key[:plen] != prefix:
                return
            number = int.from_bytes(key[plen:], "big")
            if number > stop:
                return
            yield number

    def _candidates(self, txn: Any, log_filter: LogFilter) -> Iterable[int]:
        start, stop = log_filter.from_block, log_filter.to_block
        constraints: list[list[bytes]] = []
        if log_filter.addresses:
            constraints.append([_ADDRESS + a for a in log_filter.addresses])
        for position, alternatives in enumerate(log_filter.topics[:MAX_TOPICS]):
            if alternatives is not None:
                constraints.append([_TOPIC + bytes([position]) + t for t in alternatives])
        if not constraints:
            return self._scan_blocks(txn, _BLOCK, start, stop)
        result: set[int] | None = None
        for prefixes in constraints:
            blocks: set[int] = set()
            for prefix in prefixes:
                blocks.update(self._scan_blocks(txn, prefix, start, stop))
            result = blocks if result is None else result & blocks
            if not result:
                return ()
        assert result is not None
        return sorted(result)

    def get_logs(self, log_filter: LogFilter) -> list[IndexedLog]:
        """Every log matching ``log_filter``, in chain order."""
        if log_filter.to_block < log_filter.from_block:
            return []
        if len(log_filter.topics) > MAX_TOPICS:
            return []
        out: list[IndexedLog] = []
        addresses = frozenset(log_filter.addresses)
        with self._env.reader() as txn:
            for number in self._candidates(txn, log_filter):
                raw = txn.get(_BLOCK + _num(number), db=self._db)
                if raw is None:
                    continue
                block_hash, records = rlp.decode(raw)
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
        return out


def matches_topics(topics: Sequence[bytes], wanted: Sequence[tuple[bytes, ...] | None]) -> bool:
    """``eth_getLogs`` topic matching: position by position, ``None`` matches anything."""
    if len(wanted) > len(topics):
        # A constrained position past the log's last topic cannot match; ``None`` can.
        if any(w is not None for w in wanted[len(topics) :]):
            return False
    for position, alternatives in enumerate(wanted[: len(topics)]):
        if alternatives is not None and topics[position] not in alternatives:
            return False
    return True
