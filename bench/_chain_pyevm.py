"""The py-evm ceiling: the workload executed as blocks by py-evm alone, in memory.

No RPC, no mempool, no disk and no seals: decode each raw transaction (sender recovery
included, as any node must), apply it in a block of our VM, finalize and persist the block
into an in-memory database. This is the best our node could do on this machine.
"""

from __future__ import annotations

import time
from typing import Any

from eth.db.atomic import AtomicDB

from bench._chain_workload import Workload
from ledger.chain import genesis_params
from ledger.config import Genesis, PermittedAccount
from ledger.vm import MedledgerVM, chain_class, header_defaults


def measure(workload: Workload, *, block_size: int) -> dict[str, Any]:
    genesis = Genesis(
        chain_id=1337,
        validators=[workload.deployer.address],
        accounts=[
            PermittedAccount(address=a.address, balance=10**24)
            for a in [workload.deployer, *workload.senders]
        ],
    )
    chain = chain_class(genesis.chain_id).from_genesis(
        AtomicDB(), genesis_params(genesis), genesis.genesis_state()
    )
    builder = MedledgerVM.get_transaction_builder()

    def apply(raws: list[bytes]) -> None:
        txs = [builder.decode(raw) for raw in raws]
        for tx in txs:
            tx.sender  # noqa: B018 - recover the sender, as a node validating a block does
        parent = chain.get_canonical_head()
        header = MedledgerVM.create_header_from_parent(
            parent, timestamp=parent.timestamp + 1, coinbase=b"\0" * 20, **header_defaults()
        )
        vm = chain.get_vm(header)
        base = vm.get_block()
        vm.block_preprocessing(base)
        new_header, receipts, _ = vm.apply_all_transactions(txs, header)
        filled = vm.set_block_transactions_and_withdrawals(base, new_header, txs, receipts)
        block = vm.mine_block(vm.block_postprocessing(filled)).block
        chain.chaindb.persist_block(block)

    apply([workload.deploy_raw])
    # interleave senders as a mempool ordering by arrival would
    ordered = [tx for group in zip(*workload.per_sender, strict=True) for tx in group]
    started = time.perf_counter()
    cpu_started = time.process_time()
    for i in range(0, len(ordered), block_size):
        apply(ordered[i : i + block_size])
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    head = chain.get_canonical_head()
    return {
        "tps": round(len(ordered) / elapsed, 1),
        "elapsed_s": round(elapsed, 3),
        "cpu_s": round(cpu, 3),
        "tx_per_cpu_s": round(len(ordered) / cpu, 1),
        "transactions": len(ordered),
        "block_size": block_size,
        "blocks": head.block_number - 1,
    }
