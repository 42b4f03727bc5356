"""The ledger end to end in one process: blocks, state, receipts, logs, commits, restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, ReceiptAPI

from ledger.abc import CallRequest, LogFilter
from ledger.chain import Ledger
from ledger.exceptions import (
    BlockNotFound,
    ExecutionReverted,
    StorageError,
    TransactionNotFound,
    TransactionRejected,
)
from ledger.producer import BlockProducer
from ledger.seal import decode_commit, verify_commit
from ledger.tools.storage_contract import INITCODE, REVERT_DATA, RUNTIME, STORED_TOPIC, word
from ledger.typing import BlockNumber, Hash32
from tests.ledger.helpers import KEYS, VALIDATOR_KEY, address_bytes, make_genesis, sign

SINK = bytes.fromhex("22" * 20)


def deploy(ledger: Ledger, key: bytes = KEYS[0], nonce: int = 0) -> bytes:
    ledger.send_raw_transaction(sign(key, nonce=nonce, to=None, data=INITCODE, gas=200_000))
    block = ledger.produce_block()
    assert block is not None
    assert ledger.get_receipts(block)[0].state_root == b"\x01"  # status: success
    return bytes(generate_contract_address(address_bytes(key), nonce))


def test_two_hundred_transactions_go_into_one_block(ledger: Ledger) -> None:
    for nonce in range(25):
        for key in KEYS:
            ledger.send_raw_transaction(sign(key, nonce=nonce, value=1, gas=21_000))
    block = ledger.produce_block()
    assert block is not None
    assert len(block.transactions) == 200
    receipts = ledger.get_receipts(block)
    assert all(r.state_root == b"\x01" for r in receipts)
    assert receipts[-1].gas_used == 200 * 21_000
    assert ledger.get_balance(SINK, block.number) == 200
    assert ledger.produce_block() is None  # idle: no empty block
    assert ledger.head().block_number == 1


def test_contract_writes_storage_emits_event_and_calls_see_state(ledger: Ledger) -> None:
    contract = deploy(ledger)
    assert ledger.get_code(contract, BlockNumber(1)) == RUNTIME
    ledger.send_raw_transaction(sign(KEYS[0], nonce=1, to=contract, data=word(7)))
    block = ledger.produce_block()
    assert block is not None
    assert ledger.get_storage_at(contract, 0, block.number) == 7
    assert ledger.get_storage_at(contract, 0, BlockNumber(1)) == 0
    (log,) = ledger.get_logs(LogFilter(BlockNumber(0), block.number, addresses=(contract,)))
    assert log.topics == (STORED_TOPIC,) and log.data == word(7)
    assert log.transaction_hash == block.transactions[0].hash
    assert log.block_hash == block.hash
    receipt = ledger.get_receipts(block)[0]
    assert receipt.logs[0].data == word(7)
    assert ledger.call(CallRequest(to=contract, data=word(5)), block.number) == b""
    assert ledger.get_storage_at(contract, 0, block.number) == 7  # a call changes nothing
    assert (
        21_000 < ledger.estimate_gas(CallRequest(to=contract, data=word(5)), block.number) < 60_000
    )
    with pytest.raises(ExecutionReverted) as info:
        ledger.call(CallRequest(to=contract, data=word(0xDEAD)), block.number)
    assert info.value.data == REVERT_DATA
    with pytest.raises(ExecutionReverted):
        ledger.estimate_gas(CallRequest(to=contract, data=word(0xDEAD)), block.number)


def test_reverted_transaction_is_mined_with_failed_status(ledger: Ledger) -> None:
    contract = deploy(ledger)
    ledger.send_raw_transaction(sign(KEYS[0], nonce=1, to=contract, data=word(0xDEAD)))
    block = ledger.produce_block()
    assert block is not None
    assert ledger.get_receipts(block)[0].state_root == b""  # status: failure


def test_transaction_unaffordable_at_its_turn_is_left_out_not_the_block(tmp_path: Path) -> None:
    genesis = make_genesis()
    led = Ledger(tmp_path, genesis, validator_key=VALIDATOR_KEY)
    try:
        balance = 10**21
        led.send_raw_transaction(sign(KEYS[0], nonce=0, value=balance - 10))
        led.send_raw_transaction(sign(KEYS[0], nonce=1, value=20))
        led.send_raw_transaction(sign(KEYS[1], nonce=0, value=1))
        block = led.produce_block()
        assert block is not None
        assert [(tx.sender, tx.nonce) for tx in block.transactions] == [
            (address_bytes(KEYS[0]), 0),
            (address_bytes(KEYS[1]), 0),
        ]
        assert len(led.mempool) == 0
    finally:
        led.close()


def test_transactions_are_found_pending_then_mined(ledger: Ledger) -> None:
    tx_hash = ledger.send_raw_transaction(sign(KEYS[0]))
    pending, location = ledger.get_transaction(tx_hash)
    assert location is None and pending.hash == tx_hash
    block = ledger.produce_block()
    assert block is not None
    mined, location = ledger.get_transaction(tx_hash)
    assert mined.hash == tx_hash
    assert location is not None
    assert (location.block_number, location.block_hash, location.index) == (1, block.hash, 0)
    with pytest.raises(TransactionNotFound):
        ledger.get_transaction(Hash32(b"\x00" * 32))
    with pytest.raises(BlockNotFound):
        ledger.get_block_by_number(BlockNumber(2))
    with pytest.raises(BlockNotFound):
        ledger.get_block_by_hash(Hash32(b"\x00" * 32))
    assert ledger.get_block_by_hash(Hash32(block.hash)).number == 1


def test_every_header_carries_a_verifiable_commit_of_its_parent(ledger: Ledger) -> None:
    for nonce in range(4):
        ledger.send_raw_transaction(sign(KEYS[0], nonce=nonce))
        assert ledger.produce_block() is not None
    validators = ledger.validators()
    for number in range(2, 5):
        header = ledger.get_block_by_number(BlockNumber(number)).header
        parent = ledger.get_block_by_number(BlockNumber(number - 1)).header
        commit = decode_commit(header.extra_data)
        verify_commit(
            commit, validators, ledger.chain_id, height=number - 1, block_hash=parent.hash
        )
        assert ledger.get_commit(BlockNumber(number - 1)) == commit
    head_commit = ledger.get_commit(BlockNumber(4))  # not in any header yet
    verify_commit(head_commit, validators, ledger.chain_id, block_hash=ledger.head().hash)
    assert ledger.get_commit(BlockNumber(0)).seals == ()
    with pytest.raises(BlockNotFound):
        ledger.get_commit(BlockNumber(5))


def test_several_blocks_in_one_second_share_timestamps_without_running_ahead(
    ledger: Ledger,
) -> None:
    now = int(time.time())
    for nonce in range(3):
        ledger.send_raw_transaction(sign(KEYS[0], nonce=nonce))
        assert ledger.produce_block(timestamp=now) is not None
    stamps = [ledger.get_block_by_number(BlockNumber(n)).header.timestamp for n in (1, 2, 3)]
    assert stamps == [now, now, now]


def test_restart_resumes_with_same_head_state_receipts_logs_and_commits(tmp_path: Path) -> None:
    genesis = make_genesis()
    led = Ledger(tmp_path, genesis, validator_key=VALIDATOR_KEY)
    contract = deploy(led)
    for nonce in range(1, 6):
        led.send_raw_transaction(sign(KEYS[0], nonce=nonce, to=contract, data=word(nonce)))
        led.send_raw_transaction(sign(KEYS[1], nonce=nonce - 1, value=3))
        assert led.produce_block() is not None
    head = led.head()
    receipts = [
        [r.encode() for r in led.get_receipts(led.get_block_by_number(BlockNumber(n)))]
        for n in range(head.block_number + 1)
    ]
    logs = led.get_logs(LogFilter(BlockNumber(0), BlockNumber(head.block_number)))
    commits = [led.get_commit(BlockNumber(n)) for n in range(head.block_number + 1)]
    led.close()

    again = Ledger(tmp_path, genesis, validator_key=VALIDATOR_KEY)
    try:
        assert again.head() == head
        assert again.get_storage_at(contract, 0, BlockNumber(head.block_number)) == 5
        assert again.get_balance(SINK, BlockNumber(head.block_number)) == 15
        assert [
            [r.encode() for r in again.get_receipts(again.get_block_by_number(BlockNumber(n)))]
            for n in range(head.block_number + 1)
        ] == receipts
        assert again.get_logs(LogFilter(BlockNumber(0), BlockNumber(head.block_number))) == logs
        assert [again.get_commit(BlockNumber(n)) for n in range(head.block_number + 1)] == commits
        again.send_raw_transaction(sign(KEYS[1], nonce=5))
        block = again.produce_block()
        assert block is not None and block.number == head.block_number + 1
        verify_commit(decode_commit(block.header.extra_data), again.validators(), again.chain_id)
    finally:
        again.close()


def test_data_dir_of_another_chain_is_refused(tmp_path: Path) -> None:
    Ledger(tmp_path, make_genesis(), validator_key=VALIDATOR_KEY).close()
    with pytest.raises(StorageError, match="another chain"):
        Ledger(tmp_path, make_genesis(chain_id=999), validator_key=VALIDATOR_KEY)
    with pytest.raises(StorageError, match="another chain"):
        Ledger(tmp_path, make_genesis(block_interval_ms=200), validator_key=VALIDATOR_KEY)
    Ledger(tmp_path, make_genesis(), validator_key=VALIDATOR_KEY).close()


def test_subscribers_hear_each_block_until_they_unsubscribe(ledger: Ledger) -> None:
    heard: list[tuple[int, int]] = []

    def listener(block: BlockAPI, receipts: tuple[ReceiptAPI, ...] | list[ReceiptAPI]) -> None:
        heard.append((block.number, len(receipts)))

    unsubscribe = ledger.subscribe(listener)
    ledger.send_raw_transaction(sign(KEYS[0], nonce=0))
    ledger.produce_block()
    unsubscribe()
    ledger.send_raw_transaction(sign(KEYS[0], nonce=1))
    ledger.produce_block()
    assert heard == [(1, 1)]


def test_producer_thread_makes_blocks_when_busy_and_none_when_idle(ledger: Ledger) -> None:
    producer = BlockProducer(ledger)
    mined = threading.Event()
    ledger.subscribe(lambda block, receipts: mined.set())
    producer.start()
    try:
        time.sleep(3 * ledger.block_interval)
        assert ledger.head().block_number == 0  # idle: no empty blocks
        ledger.send_raw_transaction(sign(KEYS[0]))
        producer.notify()
        assert mined.wait(timeout=10)
        assert ledger.head().block_number == 1
        producer.stop()
        assert not producer.running
        ledger.send_raw_transaction(sign(KEYS[0], nonce=1))
        time.sleep(3 * ledger.block_interval)
        assert ledger.head().block_number == 1  # stopped
        mined.clear()
        producer.start()
        assert mined.wait(timeout=10)
        assert ledger.head().block_number == 2
    finally:
        producer.stop()


def test_node_without_validator_key_cannot_seal(tmp_path: Path) -> None:
    led = Ledger(tmp_path, make_genesis())
    try:
        led.send_raw_transaction(sign(KEYS[0]))
        with pytest.raises(Exception, match="no validator key"):
            led.produce_block()
        assert led.head().block_number == 0
        assert len(led.mempool) == 1
    finally:
        led.close()


def test_another_node_imports_our_blocks_and_reaches_the_same_state(tmp_path: Path) -> None:
    genesis = make_genesis()
    proposer = Ledger(tmp_path / "a", genesis, validator_key=VALIDATOR_KEY)
    follower = Ledger(tmp_path / "b", genesis)
    try:
        contract = deploy(proposer)
        for nonce in range(1, 4):
            proposer.send_raw_transaction(sign(KEYS[0], nonce=nonce, to=contract, data=word(nonce)))
            assert proposer.produce_block() is not None
        for number in range(1, 5):
            block = proposer.get_block_by_number(BlockNumber(number))
            follower.import_block(block, proposer.get_commit(BlockNumber(number)))
        assert follower.head() == proposer.head()
        assert follower.get_storage_at(contract, 0, BlockNumber(4)) == 3
        everything = LogFilter(BlockNumber(0), BlockNumber(4))
        assert follower.get_logs(everything) == proposer.get_logs(everything)
    finally:
        proposer.close()
        follower.close()


def test_import_refuses_bad_commit_and_blocks_not_on_our_head(tmp_path: Path) -> None:
    from ledger.abc import Commit
    from ledger.exceptions import InsufficientVotingPower, LedgerError

    genesis = make_genesis()
    proposer = Ledger(tmp_path / "a", genesis, validator_key=VALIDATOR_KEY)
    follower = Ledger(tmp_path / "b", genesis)
    try:
        for nonce in range(2):
            proposer.send_raw_transaction(sign(KEYS[0], nonce=nonce))
            assert proposer.produce_block() is not None
        first = proposer.get_block_by_number(BlockNumber(1))
        second = proposer.get_block_by_number(BlockNumber(2))
        unsigned = Commit(BlockNumber(1), 0, Hash32(first.hash), ())
        with pytest.raises(InsufficientVotingPower):
            follower.import_block(first, unsigned)
        with pytest.raises(LedgerError, match="does not extend"):
            follower.import_block(second, proposer.get_commit(BlockNumber(2)))
        assert follower.head().block_number == 0
        follower.import_block(first, proposer.get_commit(BlockNumber(1)))
        assert follower.head() == first.header
    finally:
        proposer.close()
        follower.close()


def test_signature_recovery_runs_on_coincurve() -> None:
    from eth._utils import transactions

    assert type(transactions.keys.backend).__name__ == "CoinCurveECCBackend"


def test_concurrent_senders_with_running_producer_all_get_mined(ledger: Ledger) -> None:
    producer = BlockProducer(ledger)
    producer.start()
    errors: list[BaseException] = []

    def submit(key: bytes) -> None:
        try:
            for nonce in range(20):
                ledger.send_raw_transaction(sign(key, nonce=nonce, value=1, gas=21_000))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(key,)) for key in KEYS[:4]]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        deadline = time.monotonic() + 30
        while len(ledger.mempool) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(ledger.mempool) == 0
    finally:
        producer.stop()
    head = ledger.head().block_number
    assert ledger.get_balance(SINK, BlockNumber(head)) == 80
    for key in KEYS[:4]:
        assert ledger.get_nonce(address_bytes(key), BlockNumber(head)) == 20


def test_failing_listener_does_not_stop_others_or_the_block(ledger: Ledger) -> None:
    heard: list[int] = []

    def broken(block: BlockAPI, receipts: tuple[ReceiptAPI, ...] | list[ReceiptAPI]) -> None:
        raise RuntimeError("listener bug")

    ledger.subscribe(broken)
    ledger.subscribe(lambda block, receipts: heard.append(block.number))
    ledger.send_raw_transaction(sign(KEYS[0]))
    block = ledger.produce_block()
    assert block is not None and heard == [1]


def test_producer_stops_itself_when_the_ledger_is_closed(tmp_path: Path) -> None:
    led = Ledger(tmp_path, make_genesis(), validator_key=VALIDATOR_KEY)
    producer = BlockProducer(led)
    producer.start()
    led.close()
    deadline = time.monotonic() + 10
    while producer.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not producer.running
    producer.stop()


def test_validator_key_that_is_not_a_genesis_validator_is_refused(tmp_path: Path) -> None:
    from ledger.exceptions import ConfigError

    with pytest.raises(ConfigError, match="not a genesis validator"):
        Ledger(tmp_path / "a", make_genesis(), validator_key=KEYS[0])
    with pytest.raises(ConfigError, match="32-byte"):
        Ledger(tmp_path / "b", make_genesis(), validator_key=b"\x00" * 32)


def test_admission_does_not_wait_for_a_block_being_made(ledger: Ledger) -> None:
    # the producer holds the ledger lock for a whole build + commit; admission reads the
    # committed head instead, so a submission completes while the lock is held
    ledger.send_raw_transaction(sign(KEYS[0], nonce=0))
    assert ledger.produce_block() is not None
    admitted: list[Hash32] = []
    with ledger.lock:
        worker = threading.Thread(
            target=lambda: admitted.append(ledger.send_raw_transaction(sign(KEYS[0], nonce=1)))
        )
        worker.start()
        worker.join(timeout=30)
        assert admitted, "admission blocked on the ledger lock"
        assert ledger.pending_nonce(address_bytes(KEYS[0])) == 2
    assert ledger.produce_block() is not None
    assert ledger.get_nonce(address_bytes(KEYS[0]), ledger.head().block_number) == 2


def test_imported_block_that_uses_pending_nonces_prunes_them_from_the_pool(
    tmp_path: Path,
) -> None:
    genesis = make_genesis()
    proposer = Ledger(tmp_path / "a", genesis, validator_key=VALIDATOR_KEY)
    follower = Ledger(tmp_path / "b", genesis)
    try:
        # the follower holds another transaction with the same sender and nonce 0
        follower.send_raw_transaction(sign(KEYS[0], nonce=0, value=1))
        for nonce in (0, 1):
            proposer.send_raw_transaction(sign(KEYS[0], nonce=nonce, value=2))
        block = proposer.produce_block()
        assert block is not None and len(block.transactions) == 2
        follower.import_block(block, proposer.get_commit(BlockNumber(1)))
        assert len(follower.mempool) == 0
        assert follower.pending_nonce(address_bytes(KEYS[0])) == 2
        with pytest.raises(TransactionRejected) as info:
            follower.send_raw_transaction(sign(KEYS[0], nonce=1, value=3))
        assert info.value.reason == "nonce-too-low"
    finally:
        proposer.close()
        follower.close()
