"""In-process session store: enough for one gateway process (sessions die with it).

Sessions are short-lived and re-creatable by signing in again, so losing them on
restart costs a physician one signature; a store shared by several workers (SQLite,
Redis) implements the same :class:`~gateway.abc.SessionStoreAPI`.
"""

from __future__ import annotations

import dataclasses
import threading

from gateway.abc import SessionStoreAPI
from gateway.domain import Challenge, Session
from gateway.exceptions import ChallengeExpired, ChallengeUnknown, ChallengeUsed, InvalidSession
from gateway.typing import SessionDigest
from keys.typing import GrantId


class MemorySessionStore(SessionStoreAPI):
    """Thread-safe dicts; at most ``max_challenges`` outstanding (oldest evicted first)."""

    def __init__(self, *, max_challenges: int = 10_000) -> None:
        self._max_challenges = max_challenges
        self._lock = threading.Lock()
        # nonce -> (challenge, used?) ; used ones stay until expiry so a replay says so.
        self._challenges: dict[bytes, tuple[Challenge, bool]] = {}
        self._sessions: dict[SessionDigest, Session] = {}

    def put_challenge(self, challenge: Challenge, *, now: float) -> None:
        with self._lock:
            self._purge(now)
            while len(self._challenges) >= self._max_challenges:
                del self._challenges[next(iter(self._challenges))]  # oldest issued first
            self._challenges[challenge.nonce] = (challenge, False)

    def take_challenge(self, nonce: bytes, *, now: float) -> Challenge:
        with self._lock:
            self._purge(now)
            entry = self._challenges.get(nonce)
            if entry is None:
                raise ChallengeUnknown("no such challenge was issued by this gateway")
            challenge, used = entry
            if used:
                raise ChallengeUsed("this challenge was already used; request a new one")
            self._challenges[nonce] = (challenge, True)
        if now >= challenge.expires_at:
            raise ChallengeExpired("the challenge expired; request a new one")
        return challenge

    def put_session(self, session: Session) -> None:
        with self._lock:
            self._purge(session.issued_at)
            self._sessions[session.digest] = session

    def get_session(self, digest: SessionDigest, *, now: float) -> Session:
        with self._lock:
            session = self._sessions.get(digest)
        if session is None or now >= session.expires_at:
            raise InvalidSession("unknown or expired session; sign in again")
        return session

    def add_grant(self, digest: SessionDigest, grant: GrantId) -> Session:
        with self._lock:
            session = self._sessions.get(digest)
            if session is None:
                raise InvalidSession("unknown or expired session; sign in again")
            session = dataclasses.replace(session, grants=session.grants | {grant})
            self._sessions[digest] = session
            return session

    def end_session(self, digest: SessionDigest) -> None:
        with self._lock:
            self._sessions.pop(digest, None)

    def _purge(self, now: float) -> None:
        # Expired challenges linger a minute so a late attempt hears "expired", not "unknown".
        for nonce in [n for n, (c, _) in self._challenges.items() if now >= c.expires_at + 60]:
            del self._challenges[nonce]
        for digest in [d for d, s in self._sessions.items() if now >= s.expires_at]:
            del self._sessions[digest]
