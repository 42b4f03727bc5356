"""py-evm's own block-execution ceiling, for comparing a chain's throughput against.

:func:`pyevm_ceiling` executes pre-signed contract calls (the storage contract from
``ledger.tools``: one SSTORE and one LOG per call) as whole blocks on a plain in-memory
py-evm Prague ``MiningChain`` through ``mine_all`` (one state-root computation per block),
with no RPC, mempool, permission checks or disk. Signing is done before the clock starts.
Whatever a node adds on top (admission, seals, LMDB commit, log index) shows up as the gap
between this number and the node's.
"""

from __future__ import annotations

import time
from typing import Any

from eth import constants
from eth._utils.address import generate_contract_address
from eth.abc import SignedTransactionAPI
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_account import Account

from ledger.tools.storage_contract import INITCODE, word

CHAIN_ID = 31337
SENDERS = [bytes([i + 1]) * 32 for i in range(8)]
FEE = 10**9  # stock Prague has a base fee; pay it so the chain is "plain" py-evm


def _address(key: bytes) -> bytes:
    return bytes.fromhex(Account.from_key(key).address[2:])


def _sign(key: bytes, **fields: Any) -> SignedTransactionAPI:
    tx = {
        "chainId": CHAIN_ID,
        "gas": 100_000,
        "maxFeePerGas": FEE,
        "maxPriorityFeePerGas": 0,
        "value": 0,
        **fields,
    }
    raw = bytes(Account.sign_transaction(tx, key).raw_transaction)
    transaction: SignedTransactionAPI = PragueTransactionBuilder.decode(raw)
    return transaction


def _fresh_chain() -> MiningChain:
    chain_cls = MiningChain.configure(
        __name__="CeilingChain", vm_configuration=((0, PragueVM),), chain_id=CHAIN_ID
    )
    genesis_params = {
        "difficulty": 0,
        "gas_limit": 60_000_000,
        "timestamp": 1_700_000_000,
        "base_fee_per_gas": FEE,
        "nonce": constants.POST_MERGE_NONCE,
        "mix_hash": constants.POST_MERGE_MIX_HASH,
    }
    state = {
        _address(k): {"balance": 10**24, "nonce": 0, "code": b"", "storage": {}} for k in SENDERS
    }
    chain: MiningChain = chain_cls.from_genesis(AtomicDB(), genesis_params, state)
    return chain


def presign_calls(
    count: int,
    contract: bytes,
    *,
    nonces: dict[bytes, int],
    chain_id: int = CHAIN_ID,
    fee: int = FEE,
) -> list[bytes]:
    """``count`` raw signed contract calls spread round-robin over the 8 senders.

    ``nonces`` (sender key -> next nonce) is advanced as transactions are signed.
    """
    raws = []
    for i in range(count):
        key = SENDERS[i % len(SENDERS)]
        tx = {
            "chainId": chain_id,
            "nonce": nonces.get(key, 0),
            "gas": 100_000,
            "maxFeePerGas": fee,
            "maxPriorityFeePerGas": 0,
            "to": contract,
            "value": 0,
            "data": word(i + 1),
        }
        nonces[key] = nonces.get(key, 0) + 1
        raws.append(bytes(Account.sign_transaction(tx, key).raw_transaction))
    return raws


def pyevm_ceiling(*, transactions: int = 2_000, block_size: int = 200) -> dict[str, Any]:
    """Execute ``transactions`` contract calls in blocks of ``block_size``; return tx/s.

    The contract is deployed by ``SENDERS[0]`` at nonce 0 in a first block that is not
    timed. Transactions are decoded (sender recovery included) before timing, as a node
    would have done at admission. Wall and process CPU time are both reported: on a
    shared machine the CPU figure is the steadier one.
    """
    chain = _fresh_chain()
    deployer = SENDERS[0]
    contract = generate_contract_address(_address(deployer), 0)
    chain.mine_all([_sign(deployer, nonce=0, data=INITCODE, gas=200_000)])
    decoded = [
        PragueTransactionBuilder.decode(raw)
        for raw in presign_calls(transactions, contract, nonces={deployer: 1})
    ]
    for tx in decoded:
        _ = tx.sender  # recover once, like the mempool does
    started = time.perf_counter()
    cpu_started = time.process_time()
    blocks = 0
    for start in range(0, len(decoded), block_size):
        _, receipts, _ = chain.mine_all(decoded[start : start + block_size])
        assert all(r.state_root == b"\x01" for r in receipts), "a benchmark call failed"
        blocks += 1
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "transactions": transactions,
        "block_size": block_size,
        "blocks": blocks,
        "seconds": round(elapsed, 4),
        "tx_per_s": round(transactions / elapsed, 1),
        "cpu_seconds": round(cpu, 4),
        "tx_per_cpu_s": round(transactions / cpu, 1),
    }
