"""The in-process session store: the shared contract, plus its bounds."""

from __future__ import annotations

import pytest

from gateway.abc import SessionStoreAPI
from gateway.exceptions import ChallengeUnknown, TooManyChallenges
from gateway.memory import MemorySessionStore
from tests.gateway.session_store_suite import SessionStoreAPITests, challenge


class TestMemorySessionStore(SessionStoreAPITests):
    def make_store(self) -> SessionStoreAPI:
        return MemorySessionStore()


def test_anyone_asking_for_challenges_cannot_grow_the_store_without_bound() -> None:
    store = MemorySessionStore(max_challenges=3)
    for n in range(3):
        store.put_challenge(challenge(n), now=0.0)
    with pytest.raises(TooManyChallenges):
        store.put_challenge(challenge(3), now=0.0)  # refused: nothing pending is evicted
    assert store.take_challenge(challenge(0).nonce, now=1.0).message == "m0"
    with pytest.raises(ChallengeUnknown):
        store.take_challenge(challenge(3).nonce, now=1.0)


def test_expired_challenges_are_purged_after_a_grace_minute() -> None:
    store = MemorySessionStore()
    store.put_challenge(challenge(1), now=0.0)
    store.put_challenge(challenge(2, expires_at=1000.0), now=161.0)
    with pytest.raises(ChallengeUnknown):
        store.take_challenge(challenge(1).nonce, now=161.0)
