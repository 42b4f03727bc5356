"""The contract of ``SessionStoreAPI``, as a suite every backend's tests subclass."""

from __future__ import annotations

import abc

import pytest

from gateway.abc import SessionStoreAPI
from gateway.domain import Challenge, Session
from gateway.exceptions import ChallengeExpired, ChallengeUnknown, ChallengeUsed, InvalidSession
from gateway.typing import PhysicianAddress, SessionDigest
from keys.typing import GrantId, HospitalAddress

ADDRESS = PhysicianAddress("0x" + "ab" * 20)  # type: ignore[arg-type]
HOSPITAL = HospitalAddress("0x" + "11" * 20)  # type: ignore[arg-type]


def challenge(n: int, expires_at: float = 100.0) -> Challenge:
    return Challenge(n.to_bytes(32, "big"), ADDRESS, f"m{n}", expires_at)


def session(n: int, *, issued_at: float = 0.0, expires_at: float = 900.0) -> Session:
    return Session(SessionDigest(n.to_bytes(32, "big")), ADDRESS, HOSPITAL, issued_at, expires_at)


class SessionStoreAPITests(abc.ABC):
    @abc.abstractmethod
    def make_store(self) -> SessionStoreAPI:
        """An empty store."""

    @pytest.fixture
    def store(self) -> SessionStoreAPI:
        return self.make_store()

    def test_challenge_is_single_use(self, store: SessionStoreAPI) -> None:
        store.put_challenge(challenge(1), now=0.0)
        assert store.take_challenge(challenge(1).nonce, now=1.0) == challenge(1)
        with pytest.raises(ChallengeUsed):
            store.take_challenge(challenge(1).nonce, now=2.0)

    def test_challenge_expires(self, store: SessionStoreAPI) -> None:
        store.put_challenge(challenge(2), now=0.0)
        with pytest.raises(ChallengeExpired):
            store.take_challenge(challenge(2).nonce, now=100.0)

    def test_unknown_challenge(self, store: SessionStoreAPI) -> None:
        with pytest.raises(ChallengeUnknown):
            store.take_challenge(b"\x00" * 32, now=0.0)

    def test_session_lives_until_expiry_and_collects_grants(self, store: SessionStoreAPI) -> None:
        store.put_session(session(1))
        digest = session(1).digest
        assert store.get_session(digest, now=899.0).grants == frozenset()
        store.add_grant(digest, GrantId(b"\x01" * 32))
        store.add_grant(digest, GrantId(b"\x02" * 32))
        assert len(store.get_session(digest, now=1.0).grants) == 2
        with pytest.raises(InvalidSession):
            store.get_session(digest, now=900.0)

    def test_ended_session_is_gone(self, store: SessionStoreAPI) -> None:
        store.put_session(session(3))
        store.end_session(session(3).digest)
        store.end_session(session(3).digest)  # idempotent
        with pytest.raises(InvalidSession):
            store.get_session(session(3).digest, now=1.0)
        with pytest.raises(InvalidSession):
            store.add_grant(session(3).digest, GrantId(b"\x01" * 32))
