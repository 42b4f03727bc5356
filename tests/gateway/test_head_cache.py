"""Chain reads cached per head: re-read when the head moves, the head itself re-read per age.

A counted head reader and a settable clock stand in for the chain RPC (the cache is the
thing under test; ``Web3ChainView`` uses it against real chains in tests/integration).
"""

from __future__ import annotations

from collections.abc import Hashable

from gateway.wiring.head_cache import STALE, HeadCache


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


def test_a_new_head_drops_only_what_its_blocks_changed() -> None:
    chain = Chain()
    spans: list[tuple[int, int]] = []

    def changes(old: int, new: int):  # type: ignore[no-untyped-def]
        spans.append((old, new))

        def update(key: Hashable, value: object) -> object:
            return STALE if key == "g1" else value  # the blocks' logs named grant 1 only

        return update

    cache = HeadCache(chain.read_head, max_age_s=0.1, changes=changes, clock=lambda: chain.now)
    reads: list[str] = []

    def state(name: str) -> str:
        reads.append(name)
        return f"{name}@{chain.head}"

    assert [cache.get(k, lambda k=k: state(k)) for k in ("g1", "g2")] == ["g1@100", "g2@100"]
    chain.head, chain.now = 103, 1.0
    assert [cache.get(k, lambda k=k: state(k)) for k in ("g1", "g2")] == ["g1@103", "g2@100"]
    assert spans == [(100, 103)] and reads == ["g1", "g2", "g1"]

    def broken(old: int, new: int):  # type: ignore[no-untyped-def]
        raise OSError("logs unavailable")

    cache = HeadCache(chain.read_head, max_age_s=0.1, changes=broken, clock=lambda: chain.now)
    assert cache.get("g2", lambda: state("g2")) == "g2@103"
    chain.head, chain.now = 104, 2.0
    assert cache.get("g2", lambda: state("g2")) == "g2@104"  # cannot tell: re-read all


def test_a_new_head_can_update_a_value_its_blocks_fully_explain() -> None:
    chain = Chain()

    def counted(old: int, new: int):  # type: ignore[no-untyped-def]
        def update(key: Hashable, value: object) -> object:
            return f"{value}+{new - old}"  # say, new - old uses were counted

        return update

    cache = HeadCache(chain.read_head, max_age_s=0.1, changes=counted, clock=lambda: chain.now)
    reads: list[str] = []

    def read(value: str) -> str:
        reads.append(value)
        return value

    assert cache.get("g1", lambda: read("uses")) == "uses"
    chain.head, chain.now = 102, 1.0
    assert cache.get("g1", lambda: read("reread")) == "uses+2"
    assert reads == ["uses"]  # updated from the logs, not read again

    def failing(old: int, new: int):  # type: ignore[no-untyped-def]
        def update(key: object, value: object) -> object:
            raise KeyError(key)

        return update

    cache = HeadCache(chain.read_head, max_age_s=0.1, changes=failing, clock=lambda: chain.now)
    assert cache.get("g1", lambda: "first") == "first"
    chain.head, chain.now = 103, 2.0
    assert cache.get("g1", lambda: "reread") == "reread"  # an update that fails drops all
