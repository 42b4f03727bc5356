"""Load generator for the crash test: ``python -m tests.integration.crash_loader DATA_DIR``.

Opens a ledger in DATA_DIR (resuming if it exists), deploys the test contract once, then
submits contract calls and transfers from every test key as fast as the pool takes them
while the producer thread makes blocks. Prints ``block N`` after each block so the parent
knows it is under load. Runs until killed (or ``--seconds`` elapse).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from eth._utils.address import generate_contract_address

from ledger.chain import Ledger
from ledger.exceptions import TransactionRejected
from ledger.producer import BlockProducer
from ledger.tools.storage_contract import INITCODE, word
from tests.ledger.helpers import KEYS, VALIDATOR_KEY, address_bytes, make_genesis, sign


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    ledger = Ledger(args.data_dir, make_genesis(), validator_key=VALIDATOR_KEY)
    ledger.subscribe(lambda block, receipts: print(f"block {block.number}", flush=True))
    deployer = address_bytes(KEYS[0])
    contract = generate_contract_address(deployer, 0)
    if not ledger.get_code(contract, ledger.head().block_number):
        ledger.send_raw_transaction(sign(KEYS[0], nonce=0, to=None, data=INITCODE, gas=200_000))
        ledger.produce_block()
    print(f"ready {ledger.head().block_number}", flush=True)
    producer = BlockProducer(ledger)
    producer.start()
    deadline = time.monotonic() + args.seconds
    counter = 0
    while time.monotonic() < deadline:
        for index, key in enumerate(KEYS):
            nonce = ledger.pending_nonce(address_bytes(key))
            counter += 1
            if index % 2 == 0:
                raw = sign(key, nonce=nonce, to=contract, data=word(counter))
            else:
                raw = sign(key, nonce=nonce, value=counter, gas=21_000)
            try:
                ledger.send_raw_transaction(raw)
            except TransactionRejected as exc:
                if exc.reason not in ("nonce-too-high", "mempool-full", "already-known"):
                    raise
        producer.notify()
        if len(ledger.mempool) > 400:
            time.sleep(0.01)
    producer.stop()
    ledger.close()


if __name__ == "__main__":
    main()
