"""``get_logs`` on a real chain agrees with a brute-force filter over every block's receipts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth._utils.address import generate_contract_address
from hypothesis import given
from hypothesis import strategies as st

from ledger.abc import LogFilter
from ledger.chain import Ledger
from ledger.logindex import matches_topics
from ledger.tools.storage_contract import INITCODE, STORED_TOPIC, word
from ledger.typing import Address, BlockNumber, Hash32
from tests.ledger.helpers import KEYS, VALIDATOR_KEY, address_bytes, make_genesis, sign

OTHER_TOPIC = Hash32(b"\x99" * 32)
BLOCKS = 12


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, list[Address]]]:
    ledger = Ledger(
        Path(tmp_path_factory.mktemp("logs")), make_genesis(), validator_key=VALIDATOR_KEY
    )
    contracts = []
    for key in KEYS[:2]:
        ledger.send_raw_transaction(sign(key, nonce=0, to=None, data=INITCODE, gas=200_000))
        contracts.append(Address(generate_contract_address(address_bytes(key), 0)))
    ledger.produce_block()
    for n in range(1, BLOCKS):
        for i, key in enumerate(KEYS[:3]):
            if (n + i) % 3:  # some blocks lack some contracts' logs
                target = contracts[(n + i) % 2]
                ledger.send_raw_transaction(sign(key, nonce=n, to=target, data=word(n * 10 + i)))
            else:
                ledger.send_raw_transaction(sign(key, nonce=n, value=1))
        assert ledger.produce_block() is not None
    yield ledger, contracts
    ledger.close()


def brute_force(ledger: Ledger, log_filter: LogFilter) -> list[tuple[object, ...]]:
    out = []
    head = ledger.head().block_number
    for number in range(log_filter.from_block, min(log_filter.to_block, head) + 1):
        block = ledger.get_block_by_number(BlockNumber(number))
        log_index = 0
        for tx_index, (tx, receipt) in enumerate(
            zip(block.transactions, ledger.get_receipts(block), strict=True)
        ):
            for log in receipt.logs:
                topics = tuple(t.to_bytes(32, "big") for t in log.topics)
                if (
                    not log_filter.addresses or log.address in log_filter.addresses
                ) and matches_topics(topics, log_filter.topics):
                    out.append(
                        (
                            log.address,
                            topics,
                            log.data,
                            number,
                            block.hash,
                            tx.hash,
                            tx_index,
                            log_index,
                        )
                    )
                log_index += 1
    return out


topic_choice = st.one_of(
    st.none(), st.lists(st.sampled_from([STORED_TOPIC, OTHER_TOPIC]), min_size=1, max_size=2)
)


@given(
    start=st.integers(0, BLOCKS + 2),
    length=st.integers(0, BLOCKS + 2),
    pick=st.lists(st.integers(0, 2), max_size=2, unique=True),
    topics=st.lists(topic_choice, max_size=2),
)
def test_get_logs_matches_receipts_brute_force(
    chain: tuple[Ledger, list[Address]],
    start: int,
    length: int,
    pick: list[int],
    topics: list[list[bytes] | None],
) -> None:
    ledger, contracts = chain
    candidates = [*contracts, Address(b"\x01" * 20)]
    log_filter = LogFilter(
        from_block=BlockNumber(start),
        to_block=BlockNumber(start + length),
        addresses=tuple(candidates[i] for i in pick),
        topics=tuple(None if t is None else tuple(Hash32(x) for x in t) for t in topics),
    )
    got = [
        (
            x.address,
            x.topics,
            x.data,
            x.block_number,
            x.block_hash,
            x.transaction_hash,
            x.transaction_index,
            x.log_index,
        )
        for x in ledger.get_logs(log_filter)
    ]
    assert got == brute_force(ledger, log_filter)


def test_chain_fixture_has_logs_from_both_contracts(chain: tuple[Ledger, list[Address]]) -> None:
    ledger, contracts = chain
    everything = ledger.get_logs(LogFilter(BlockNumber(0), BlockNumber(BLOCKS)))
    assert {log.address for log in everything} == set(contracts)
    assert len(everything) > BLOCKS
