"""An index of logs by block, address and topic, so ``eth_getLogs`` never scans the chain.

Layout in the ``logs`` named database (block numbers big-endian, so keys sort by block):

- ``b"B" + block(8)`` -> the block's logs as a JSON array of ``eth_getLogs`` log objects,
  encoded once at commit (only blocks that have logs). A query decodes candidate blocks
  with orjson (C) and filters on the hex fields, and ``eth_getLogs`` returns the decoded
  objects as they are: no per-log decoding to bytes and re-encoding to hex. (Data dirs
  written before this format hold RLP ``[block_hash, [[address, [topics], data, tx_hash,
  tx_index], ...]]``; such records are still read.)
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

import orjson
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
#: One log as ``eth_getLogs`` returns it (JSON object with 0x-hex fields).
LogObject = dict[str, Any]


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
    records: list[LogObject] = []
    suffix = _num(block_number)
    number_hex, hash_hex = hex(block_number), "0x" + block_hash.hex()
    for tx_index, (tx_hash, logs) in enumerate(transactions):
        tx_hash_hex, tx_index_hex = "0x" + tx_hash.hex(), hex(tx_index)
        for address, topics, data in logs:
            records.append(
                _log_object(
                    address,
                    topics,
                    data,
                    number_hex,
                    hash_hex,
                    tx_hash_hex,
                    tx_index_hex,
                    len(records),
                )
            )
            writes[_ADDRESS + address + suffix] = b""
            for position, topic in enumerate(topics[:MAX_TOPICS]):
                writes[_TOPIC + bytes([position]) + topic + suffix] = b""
    if records:
        writes[_BLOCK + suffix] = orjson.dumps(records)
    return writes


def _log_object(
    address: bytes,
    topics: Sequence[bytes],
    data: bytes,
    number_hex: str,
    hash_hex: str,
    tx_hash_hex: str,
    tx_index_hex: str,
    log_index: int,
) -> LogObject:
    # field order and encodings of geth's log marshalling (as ledger.rpc.format has them)
    return {
        "address": "0x" + address.hex(),
        "topics": ["0x" + topic.hex() for topic in topics],
        "data": "0x" + data.hex(),
        "blockNumber": number_hex,
        "blockHash": hash_hex,
        "transactionHash": tx_hash_hex,
        "transactionIndex": tx_index_hex,
        "logIndex": hex(log_index),
        "removed": False,
    }


def _decode_block(number: int, raw: bytes) -> list[LogObject]:
    if raw[:1] == b"[":
        records: list[LogObject] = orjson.loads(raw)
        return records
    block_hash, legacy = rlp.decode(raw)  # a record written before the JSON format
    number_hex, hash_hex = hex(number), "0x" + block_hash.hex()
    return [
        _log_object(
            address,
            topics,
            data,
            number_hex,
            hash_hex,
            "0x" + tx_hash.hex(),
            hex(int.from_bytes(tx_index, "big")),
            log_index,
        )
        for log_index, (address, topics, data, tx_hash, tx_index) in enumerate(legacy)
    ]


def to_indexed_log(log: LogObject) -> IndexedLog:
    """A log object of the index as the ``IndexedLog`` of ``LedgerAPI.get_logs``."""
    return IndexedLog(
        address=Address(bytes.fromhex(log["address"][2:])),
        topics=tuple(Hash32(bytes.fromhex(t[2:])) for t in log["topics"]),
        data=bytes.fromhex(log["data"][2:]),
        block_number=BlockNumber(int(log["blockNumber"], 16)),
        block_hash=Hash32(bytes.fromhex(log["blockHash"][2:])),
        transaction_hash=Hash32(bytes.fromhex(log["transactionHash"][2:])),
        transaction_index=int(log["transactionIndex"], 16),
        log_index=int(log["logIndex"], 16),
    )


class _HexFilter:
    """A filter's addresses and topics as the lowercase 0x-hex the log objects hold."""

    __slots__ = ("addresses", "topics")

    def __init__(self, log_filter: LogFilter) -> None:
        self.addresses = frozenset("0x" + a.hex() for a in log_filter.addresses)
        self.topics = [
            None if alternatives is None else frozenset("0x" + t.hex() for t in alternatives)
            for alternatives in log_filter.topics
        ]

    def matches(self, log: LogObject) -> bool:
        if self.addresses and log["address"] not in self.addresses:
            return False
        return not self.topics or matches_topics(log["topics"], self.topics)


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

    def get_log_objects(
        self, log_filter: LogFilter, *, limit: int | None = None
    ) -> list[LogObject]:
        """Every log matching ``log_filter``, in chain order, as ``eth_getLogs`` objects.

        With ``limit``, stops after ``limit + 1`` logs (enough to tell the caller that the
        answer is over its limit without decoding the rest).
        """
        if log_filter.to_block < log_filter.from_block or len(log_filter.topics) > MAX_TOPICS:
            return []
        with self._env.reader() as txn:
            return self._collect(txn, self._candidates(txn, log_filter), log_filter, limit)

    def get_logs(self, log_filter: LogFilter) -> list[IndexedLog]:
        """Every log matching ``log_filter``, in chain order."""
        return [to_indexed_log(log) for log in self.get_log_objects(log_filter)]

    def scan_log_objects(self, log_filter: LogFilter) -> list[LogObject]:
        """The same answer by reading every block's logs in the range (no posting lists).

        The brute-force reference for tests and benchmarks; never used to serve queries.
        """
        if log_filter.to_block < log_filter.from_block or len(log_filter.topics) > MAX_TOPICS:
            return []
        with self._env.reader() as txn:
            blocks = self._scan_blocks(txn, log_filter.from_block, log_filter.to_block)
            return self._collect(txn, blocks, log_filter, None)

    def scan_logs(self, log_filter: LogFilter) -> list[IndexedLog]:
        """:meth:`scan_log_objects` as ``IndexedLog`` (the brute-force reference)."""
        return [to_indexed_log(log) for log in self.scan_log_objects(log_filter)]

    def _collect(
        self, txn: Any, blocks: Iterator[int], log_filter: LogFilter, limit: int | None
    ) -> list[LogObject]:
        matches = _HexFilter(log_filter).matches
        get, db = txn.get, self._db
        out: list[LogObject] = []
        for number in blocks:
            raw = get(_BLOCK + number.to_bytes(8, "big"), db=db)
            if raw is None:
                continue
            out.extend([log for log in _decode_block(number, raw) if matches(log)])
            if limit is not None and len(out) > limit:
                return out[: limit + 1]
        return out


def matches_topics(
    topics: Sequence[Any], wanted: Sequence[tuple[Any, ...] | frozenset[Any] | None]
) -> bool:
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
