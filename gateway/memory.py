"""In-process session store: enough for one gateway process (sessions die with it).

Sessions are short-lived and re-creatable by signing in again, so losing them on
restart costs a physician one signature; a store shared by several workers (SQLite,
Redis) implements the same :class:`~gateway.abc.SessionStoreAPI`.

Challenges are bounded per signer address and in total, and a full store *refuses* a new
challenge (``TooManyChallenges``, 429) instead of evicting a pending one: with eviction, a
flood of challenge requests would silently cancel every physician's sign-in in progress.
Pending challenges leave only when used or expired (each lives ``challenge_ttl_seconds``).
"""

from __future__ import annotations

import dataclasses
import threading

from gateway.abc import SessionStoreAPI
from gateway.domain import Challenge, Session
from gateway.exceptions import (
    ChallengeExpired,
    ChallengeUnknown,
    ChallengeUsed,
    InvalidSession,
    TooManyChallenges,
)
from gateway.typing import SessionDigest
from keys.typing import GrantId


class MemorySessionStore(SessionStoreAPI):
    """Thread-safe dicts; at most ``max_challenges`` kept, ``max_per_address`` per signer.

    Used challenges count until purged (a replay must hear "used"), so the bounds cover
    everything the store holds.
    """

    def __init__(self, *, max_challenges: int = 10_000, max_per_address: int = 16) -> None:
        self._max_challenges = max_challenges
        self._max_per_address = max_per_address
        self._lock = threading.Lock()
        # nonce -> (challenge, used?) ; used ones stay until expiry so a replay says so.
        self._challenges: dict[bytes, tuple[Challenge, bool]] = {}
        self._per_address: dict[str, int] = {}
        self._sessions: dict[SessionDigest, Session] = {}

    def put_challenge(self, challenge: Challenge, *, now: float) -> None:
        with self._lock:
            self._purge(now)
            if len(self._challenges) >= self._max_challenges:
                raise TooManyChallenges("too many sign-ins in progress; retry in a minute")
            held = self._per_address.get(challenge.physician, 0)
            if held >= self._max_per_address:
                raise TooManyChallenges(
                    "too many sign-ins in progress for this address; use one or wait for expiry"
                )
            self._challenges[challenge.nonce] = (challenge, False)
            self._per_address[challenge.physician] = held + 1

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
            address = self._challenges.pop(nonce)[0].physician
            left = self._per_address[address] - 1
            if left:
                self._per_address[address] = left
            else:
                del self._per_address[address]
        for digest in [d for d, s in self._sessions.items() if now >= s.expires_at]:
            del self._sessions[digest]
