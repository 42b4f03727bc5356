"""Chain reads cached per head: re-read when the head moves, the head itself re-read per age.

A counted head reader and a settable clock stand in for the chain RPC (the cache is the
thing under test; ``Web3ChainView`` uses it against real chains in tests/integration).
"""

from __future__ import annotations

from gateway.wiring.head_cache import HeadCache


class Chain:
    def __init__(self) -> None:
        self.head, self.head_reads, self.now = 100, 0, 0.0

    def read_head(self) -> int:
        self.head_reads += 1
        return self.head


def test_values_are_read_once_per_head_and_the_head_once_per_interval() -> None:
    chain = Chain()
    cache = HeadCache(chain.read_head, max_age_s=0.1, clock=lambda: chain.now)
    reads: list[str] = []

    def standing() -> str:
        reads.append("standing")
        return f"active@{chain.head}"

    assert [cache.get("p", standing) for _ in range(50)] == ["active@100"] * 50
    assert (reads, chain.head_reads) == (["standing"], 1)  # 50 requests, one RPC each kind
    chain.head = 101  # a block lands (say, the grant is revoked in it)
    assert cache.get("p", standing) == "active@100"  # within max_age: not seen yet
    chain.now += 0.1
    assert cache.get("p", standing) == "active@101"  # one interval later: re-read
    assert (len(reads), chain.head_reads) == (2, 2)
    chain.now += 0.5  # time passes, the head does not: the value stays cached
    assert cache.get("p", standing) == "active@101" and len(reads) == 2
    assert chain.head_reads == 3
