"""Our block path against py-evm's own ceiling, on the same contract-call workload.

Both execute N signed calls of the storage contract (one SSTORE + one LOG each) in blocks
of the same size. The ceiling (``_pyevm_ceiling``) is py-evm's ``mine_all`` on an
in-memory chain. Ours is ``Ledger.produce_block`` on LMDB: mempool selection, the
admissibility pre-checks, execution, one state-root computation, the commit seal, and one
durable (fsync'd) LMDB commit with the log index. Admission (``send_raw_transaction``:
decode, signature recovery, state checks) is timed separately; signing is not timed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from eth._utils.address import generate_contract_address
from eth_account import Account

from bench._pyevm_ceiling import SENDERS, presign_calls, pyevm_ceiling
from ledger.chain import Ledger
from ledger.config import Genesis, PermittedAccount
from ledger.tools.storage_contract import INITCODE

TRANSACTIONS = 2_000
BLOCK_SIZE = 200
CHAIN_ID = 4242
VALIDATOR_KEY = b"\x11" * 32


def _ledger_run(data_dir: Path) -> dict[str, Any]:
    genesis = Genesis(
        chain_id=CHAIN_ID,
        validators=[Account.from_key(VALIDATOR_KEY).address],
        accounts=[PermittedAccount(address=Account.from_key(k).address) for k in SENDERS],
        gas_limit=60_000_000,
    )
    ledger = Ledger(data_dir, genesis, validator_key=VALIDATOR_KEY, max_nonce_gap=TRANSACTIONS)
    try:
        deployer = SENDERS[0]
        deploy = Account.sign_transaction(
            {
                "chainId": CHAIN_ID,
                "nonce": 0,
                "gas": 200_000,
                "maxFeePerGas": 0,
                "maxPriorityFeePerGas": 0,
                "data": INITCODE,
                "value": 0,
            },
            deployer,
        )
        ledger.send_raw_transaction(bytes(deploy.raw_transaction))
        ledger.produce_block()
        contract = generate_contract_address(
            bytes.fromhex(Account.from_key(deployer).address[2:]), 0
        )
        raws = presign_calls(TRANSACTIONS, contract, nonces={deployer: 1}, chain_id=CHAIN_ID, fee=0)
        started = time.perf_counter()
        for raw in raws:
            ledger.send_raw_transaction(raw)
        admission = time.perf_counter() - started
        started = time.perf_counter()
        cpu_started = time.process_time()
        blocks = 0
        while ledger.produce_block(max_transactions=BLOCK_SIZE) is not None:
            blocks += 1
        production = time.perf_counter() - started
        production_cpu = time.process_time() - cpu_started
        head = ledger.head().block_number
        mined = sum(len(ledger.get_block_by_number(n).transactions) for n in range(2, head + 1))
        if mined != TRANSACTIONS:
            raise AssertionError(f"only {mined} of {TRANSACTIONS} transactions were mined")
    finally:
        ledger.close()
    return {
        "blocks": blocks,
        "admission_seconds": round(admission, 4),
        "admission_tx_per_s": round(TRANSACTIONS / admission, 1),
        "production_seconds": round(production, 4),
        "production_tx_per_s": round(TRANSACTIONS / production, 1),
        "production_cpu_seconds": round(production_cpu, 4),
        "production_tx_per_cpu_s": round(TRANSACTIONS / production_cpu, 1),
        "end_to_end_tx_per_s": round(TRANSACTIONS / (admission + production), 1),
    }


def run() -> dict[str, Any]:
    pyevm_ceiling(transactions=80, block_size=40)  # warm-up: imports, caches, allocator
    ceiling = pyevm_ceiling(transactions=TRANSACTIONS, block_size=BLOCK_SIZE)
    with tempfile.TemporaryDirectory(prefix="bench-blocks-") as tmp:
        ours = _ledger_run(Path(tmp))
    return {
        "transactions": TRANSACTIONS,
        "block_size": BLOCK_SIZE,
        "pyevm_mine_all_ceiling": ceiling,
        "ledger": ours,
        "production_vs_ceiling_wall": round(ours["production_tx_per_s"] / ceiling["tx_per_s"], 3),
        "production_vs_ceiling_cpu": round(
            ours["production_tx_per_cpu_s"] / ceiling["tx_per_cpu_s"], 3
        ),
    }
