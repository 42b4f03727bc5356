"""Consensus core cost: wall time per committed height on a clean simulated network.

Drives n real machines (real secp256k1 signing and recovery, no caching) through a
loss-free network for a few heights and reports, per height, the wall time, the number of
messages delivered, and the share of that time spent in signature recovery, measured in
the same run by recovering every delivered message's signer once more (the crypto floor
any implementation pays).
"""

from __future__ import annotations

import time
from typing import Any

from ledger.consensus import (
    Broadcast,
    ConsensusDriver,
    Decide,
    KeySigner,
    Message,
    Output,
    ValidatorSet,
    verify_message,
)
from ledger.typing import Hash32

CHAIN_ID = 1337
HEIGHTS = 5


def _height_run(n: int) -> dict[str, Any]:
    from eth_hash.auto import keccak

    keys = [KeySigner(keccak(b"bench-%d" % i)) for i in range(n)]
    validators = ValidatorSet.equal_power(k.address for k in keys)
    drivers = [
        ConsensusDriver(
            chain_id=CHAIN_ID,
            height=1,
            validators=validators,
            signer=k,
            get_value=lambda h, r: Hash32(keccak(b"block %d %d" % (h, r))),
            is_valid=lambda h, v: True,
        )
        for k in keys
    ]
    delivered: list[Message] = []
    queue: list[tuple[int, Message]] = []
    decided = [0] * n

    def act(i: int, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, Broadcast):
                queue.extend((j, out.message) for j in range(n) if j != i)
            elif isinstance(out, Decide):
                decided[i] += 1
                if decided[i] < HEIGHTS:
                    act(i, drivers[i].next_height(drivers[i].machine.validators.advance()))

    started = time.perf_counter()
    for i, d in enumerate(drivers):
        act(i, d.start())
    while queue:
        j, message = queue.pop(0)
        delivered.append(message)
        act(j, drivers[j].receive(message))
    elapsed = time.perf_counter() - started
    assert decided == [HEIGHTS] * n, decided

    sets = {h: validators for h in range(1, HEIGHTS + 1)}
    floor_started = time.perf_counter()
    for message in delivered:
        verify_message(message, CHAIN_ID, sets[message.height])
    floor = time.perf_counter() - floor_started
    return {
        "validators": n,
        "heights": HEIGHTS,
        "ms_per_height": round(1000 * elapsed / HEIGHTS, 3),
        "messages_per_height": len(delivered) // HEIGHTS,
        "signature_recovery_ms_per_height": round(1000 * floor / HEIGHTS, 3),
        "recovery_share": round(floor / elapsed, 3),
    }


def run() -> dict[str, Any]:
    return {"clean_network": [_height_run(n) for n in (1, 4, 7, 16)]}
