"""The in-process session store: single use, expiry, bounded growth."""

from __future__ import annotations

import pytest

from gateway.domain import Challenge
from gateway.exceptions import ChallengeExpired, ChallengeUnknown, ChallengeUsed
from gateway.memory import MemorySessionStore
from gateway.typing import PhysicianAddress

ADDRESS = PhysicianAddress("0x" + "ab" * 20)  # type: ignore[arg-type]


def _challenge(n: int, expires_at: float = 100.0) -> Challenge:
    return Challenge(n.to_bytes(32, "big"), ADDRESS, f"m{n}", expires_at)


def test_anyone_asking_for_challenges_cannot_grow_the_store_without_bound() -> None:
    store = MemorySessionStore(max_challenges=3)
    for n in range(5):
        store.put_challenge(_challenge(n), now=0.0)
    with pytest.raises(ChallengeUnknown):
        store.take_challenge(_challenge(0).nonce, now=1.0)  # evicted, oldest first
    assert store.take_challenge(_challenge(4).nonce, now=1.0).message == "m4"


def test_challenge_is_single_use_and_expires() -> None:
    store = MemorySessionStore()
    store.put_challenge(_challenge(1), now=0.0)
    store.put_challenge(_challenge(2), now=0.0)
    store.take_challenge(_challenge(1).nonce, now=1.0)
    with pytest.raises(ChallengeUsed):
        store.take_challenge(_challenge(1).nonce, now=2.0)
    with pytest.raises(ChallengeExpired):
        store.take_challenge(_challenge(2).nonce, now=100.0)


def test_expired_challenges_are_purged_after_a_grace_minute() -> None:
    store = MemorySessionStore()
    store.put_challenge(_challenge(1), now=0.0)
    store.put_challenge(_challenge(2, expires_at=1000.0), now=161.0)
    with pytest.raises(ChallengeUnknown):
        store.take_challenge(_challenge(1).nonce, now=161.0)
