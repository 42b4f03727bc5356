"""Admission never waits for the block producer, even when permissions come from a contract."""

from __future__ import annotations

import threading
from pathlib import Path

from eth_utils.address import to_checksum_address

from ledger.chain import Ledger
from ledger.config import AllocAccount
from ledger.permissions import ContractPermissions
from ledger.tools.permission_contract import RUNTIME
from tests.ledger.helpers import KEYS, VALIDATOR_KEY, address, make_genesis, sign

CONTRACT = to_checksum_address("0x" + "c0" * 20)


def test_contract_permission_check_runs_while_a_block_holds_the_ledger_lock(
    tmp_path: Path,
) -> None:
    genesis = make_genesis(
        consortium_contract=CONTRACT,
        alloc={
            CONTRACT: AllocAccount(
                code="0x" + RUNTIME.hex(), storage={int(address(KEYS[0]), 16): 1}
            )
        },
    )
    ledger = Ledger(tmp_path, genesis, validator_key=VALIDATOR_KEY)
    try:
        assert isinstance(ledger.permissions, ContractPermissions)
        outcome: list[object] = []

        def admit() -> None:
            try:
                outcome.append(ledger.send_raw_transaction(sign(KEYS[0])))
            except Exception as exc:  # reported by the assertion below
                outcome.append(exc)

        with ledger.lock:  # what the producer holds while it builds and commits a block
            worker = threading.Thread(target=admit)
            worker.start()
            worker.join(20)
            admitted_under_lock = not worker.is_alive()
        worker.join(20)
        assert admitted_under_lock, "admission waited for the ledger lock"
        assert len(outcome) == 1 and isinstance(outcome[0], bytes)
        assert len(ledger.mempool) == 1
    finally:
        ledger.close()
