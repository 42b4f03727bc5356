"""RPC attack benchmark: blocks/s and transactions mined, without and during an eth_call flood.

A 4-validator consortium of real ``medledger ledger run`` processes on loopback (as the
BFT tests start it: ``tests.integration.bft_cluster.Consortium``) carries a steady load of
transfers (``BENCH_RPC_RATE`` tx/s, default 20, to every validator in turn). Two phases of
``BENCH_RPC_SECONDS`` (default 15) each on the same processes:

1. **quiet**: the load alone;
2. **attack**: the load plus ``BENCH_RPC_ATTACKERS`` (default 4) clients per validator, each
   sending, back to back, ``eth_call`` of init code that loops for ever (``0x5b600056``)
   with gas 2^64-1. Each such call is stopped at the EVM deadline (5 s by default) or
   refused (-32005) when the node's call slots are taken.

Reported per phase: blocks made, blocks/s, transactions mined and the answers the attackers
got, by JSON-RPC error code. Blocks are made only when transactions wait (no empty blocks),
so blocks/s follows the load; what matters is that the attack phase keeps mining the load.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.integration.bft_cluster import Consortium, Load, head
from tests.integration.nodeproc import NodeProcess

LOOP = "0x5b600056"


def _mined(node: NodeProcess, address: str) -> int:
    return int(node.rpc("eth_getTransactionCount", [address, "latest"])["result"], 16)


class _Attacker(threading.Thread):
    def __init__(self, node: NodeProcess, codes: Counter[Any], halt: threading.Event) -> None:
        super().__init__(daemon=True)
        self.node, self.codes, self.halt = node, codes, halt

    def run(self) -> None:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_call"}
        body["params"] = [{"data": LOOP, "gas": hex(2**64 - 1)}, "latest"]
        with httpx.Client(timeout=60) as client:
            while not self.halt.is_set():
                try:
                    answer = client.post(self.node.url, json=body).json()
                    self.codes[answer.get("error", {}).get("code", "result")] += 1
                except httpx.HTTPError:
                    self.codes["http_error"] += 1


def _phase(nodes: list[NodeProcess], load: Load, seconds: float) -> dict[str, Any]:
    start_head, start_mined = head(nodes[0]), _mined(nodes[0], load.account.address)
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    blocks = head(nodes[0]) - start_head
    mined = _mined(nodes[0], load.account.address) - start_mined
    return {
        "seconds": round(elapsed, 2),
        "blocks": blocks,
        "blocks_per_s": round(blocks / elapsed, 2),
        "transactions_mined": mined,
        "mined_per_s": round(mined / elapsed, 2),
    }


def run() -> dict[str, Any]:
    validators = 4
    rate = float(os.environ.get("BENCH_RPC_RATE", "20"))
    seconds = float(os.environ.get("BENCH_RPC_SECONDS", "15"))
    attackers = int(os.environ.get("BENCH_RPC_ATTACKERS", "4"))
    with tempfile.TemporaryDirectory(prefix="bench-rpc-") as root:
        consortium = Consortium(Path(root) / "c", validators=validators, accounts=1)
        try:
            with ThreadPoolExecutor(validators) as pool:
                nodes = list(pool.map(consortium.start, range(validators)))
            load = Load(consortium, consortium.accounts[0], rate)
            load.start()
            time.sleep(3)  # warm up: first blocks, connections
            quiet = _phase(nodes, load, seconds)
            codes: Counter[Any] = Counter()
            halt = threading.Event()
            flood = [_Attacker(n, codes, halt) for n in nodes for _ in range(attackers)]
            for attacker in flood:
                attacker.start()
            attack = _phase(nodes, load, seconds)
            halt.set()
            for attacker in flood:
                attacker.join(30)
            load.stop()
            attack["attacker_answers"] = {str(k): v for k, v in sorted(codes.items(), key=str)}
        finally:
            consortium.stop_all()
    return {
        "validators": validators,
        "cpu_cores": os.cpu_count(),
        "load_tx_per_s": rate,
        "attackers_per_validator": attackers,
        "call": {"data": LOOP, "gas": "2^64-1", "evm_timeout_s": 5.0, "gas_cap": 50_000_000},
        "quiet": quiet,
        "attack": attack,
        "attack_vs_quiet_blocks": round(attack["blocks"] / max(quiet["blocks"], 1), 3),
        "attack_vs_quiet_mined": round(
            attack["transactions_mined"] / max(quiet["transactions_mined"], 1), 3
        ),
    }
