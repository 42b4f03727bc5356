"""The log index answers exactly what a brute-force filter over all receipts answers."""

from __future__ import annotations

import tempfile
from pathlib import Path

import rlp
from hypothesis import given
from hypothesis import strategies as st

from ledger.abc import IndexedLog, LogFilter
from ledger.db import LmdbEnvironment
from ledger.logindex import DB_NAME, LogIndex, RawLog, index_writes, matches_topics
from ledger.typing import Address, BlockNumber, Hash32

ADDRESSES = [Address(bytes([i]) * 20) for i in range(1, 4)]
TOPICS = [Hash32(bytes([i]) * 32) for i in range(1, 5)]

logs = st.tuples(
    st.sampled_from(ADDRESSES),
    st.lists(st.sampled_from(TOPICS), max_size=4),
    st.binary(max_size=8),
)
transactions = st.lists(st.lists(logs, max_size=3), max_size=3)
chains = st.lists(transactions, min_size=1, max_size=25)
alternatives = st.one_of(st.none(), st.lists(st.sampled_from(TOPICS), min_size=1, max_size=2))

Chain = list[list[list[tuple[Address, list[Hash32], bytes]]]]


def block_hash(number: int) -> bytes:
    return number.to_bytes(32, "big")


def tx_hash(number: int, index: int) -> bytes:
    return (number * 1000 + index + 1).to_bytes(32, "big")


def brute_force(chain: Chain, log_filter: LogFilter) -> list[IndexedLog]:
    out = []
    for number, txs in enumerate(chain):
        if not log_filter.from_block <= number <= log_filter.to_block:
            continue
        log_index = 0
        for tx_index, tx_logs in enumerate(txs):
            for address, topics, data in tx_logs:
                if (not log_filter.addresses or address in log_filter.addresses) and matches_topics(
                    topics, log_filter.topics
                ):
                    out.append(
                        IndexedLog(
                            address=address,
                            topics=tuple(topics),
                            data=data,
                            block_number=BlockNumber(number),
                            block_hash=Hash32(block_hash(number)),
                            transaction_hash=Hash32(tx_hash(number, tx_index)),
                            transaction_index=tx_index,
                            log_index=log_index,
                        )
                    )
                log_index += 1
    return out


@given(
    chain=chains,
    start=st.integers(0, 30),
    length=st.integers(-2, 30),
    addresses=st.lists(st.sampled_from(ADDRESSES), max_size=2, unique=True),
    topics=st.lists(alternatives, max_size=4),
)
def test_index_matches_brute_force_filter(
    chain: Chain,
    start: int,
    length: int,
    addresses: list[Address],
    topics: list[list[Hash32] | None],
) -> None:
    log_filter = LogFilter(
        from_block=BlockNumber(start),
        to_block=BlockNumber(start + length),
        addresses=tuple(addresses),
        topics=tuple(None if t is None else tuple(t) for t in topics),
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = LmdbEnvironment(Path(tmp), map_size=64 * 1024**2)
        try:
            for number, txs in enumerate(chain):
                entries: list[tuple[bytes, list[RawLog]]] = [
                    (tx_hash(number, i), list(tx_logs)) for i, tx_logs in enumerate(txs)
                ]
                env.commit(
                    {
                        DB_NAME: index_writes(
                            block_number=number,
                            block_hash=block_hash(number),
                            transactions=entries,
                        )
                    }
                )
            index = LogIndex(env)
            expected = brute_force(chain, log_filter)
            assert index.get_logs(log_filter) == expected
            assert index.scan_logs(log_filter) == expected
        finally:
            env.close()


def test_topic_position_matters() -> None:
    assert matches_topics([TOPICS[0], TOPICS[1]], [None, (TOPICS[1],)])
    assert not matches_topics([TOPICS[1], TOPICS[0]], [None, (TOPICS[1],)])
    assert not matches_topics([TOPICS[0]], [None, (TOPICS[1],)])
    assert not matches_topics([TOPICS[0]], [None, None])  # geth: more positions than topics
    assert matches_topics([TOPICS[0], TOPICS[2]], [None, None])


def _one_block_env(tmp: str, value: bytes) -> LmdbEnvironment:
    env = LmdbEnvironment(Path(tmp), map_size=64 * 1024**2)
    env.commit({DB_NAME: {b"B" + (7).to_bytes(8, "big"): value}})
    return env


def test_log_objects_are_the_eth_getlogs_json_and_a_limit_stops_early() -> None:
    logs: list[RawLog] = [(ADDRESSES[0], [TOPICS[0]], b"\x01"), (ADDRESSES[1], [], b"")]
    with tempfile.TemporaryDirectory() as tmp:
        env = LmdbEnvironment(Path(tmp), map_size=64 * 1024**2)
        try:
            for number in (3, 4):
                writes = index_writes(
                    block_number=number,
                    block_hash=block_hash(number),
                    transactions=[(tx_hash(number, 0), []), (tx_hash(number, 1), logs)],
                )
                env.commit({DB_NAME: writes})
            index = LogIndex(env)
            every = LogFilter(from_block=BlockNumber(0), to_block=BlockNumber(9))
            objects = index.get_log_objects(every)
            assert objects[1] == {
                "address": "0x" + ADDRESSES[1].hex(),
                "topics": [],
                "data": "0x",
                "blockNumber": "0x3",
                "blockHash": "0x" + block_hash(3).hex(),
                "transactionHash": "0x" + tx_hash(3, 1).hex(),
                "transactionIndex": "0x1",
                "logIndex": "0x1",
                "removed": False,
            }
            assert objects[0]["topics"] == ["0x" + TOPICS[0].hex()]
            assert len(objects) == 4
            assert index.get_log_objects(every, limit=2) == objects[:3]
        finally:
            env.close()


def test_records_written_in_the_former_rlp_format_are_still_read() -> None:
    record = rlp.encode(
        [block_hash(7), [[ADDRESSES[2], [TOPICS[1], TOPICS[2]], b"\xaa", tx_hash(7, 2), 2]]]
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = _one_block_env(tmp, record)
        try:
            found = LogIndex(env).scan_logs(
                LogFilter(from_block=BlockNumber(7), to_block=BlockNumber(7))
            )
        finally:
            env.close()
    assert found == [
        IndexedLog(
            address=ADDRESSES[2],
            topics=(TOPICS[1], TOPICS[2]),
            data=b"\xaa",
            block_number=BlockNumber(7),
            block_hash=Hash32(block_hash(7)),
            transaction_hash=Hash32(tx_hash(7, 2)),
            transaction_index=2,
            log_index=0,
        )
    ]
