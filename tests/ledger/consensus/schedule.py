"""Schedules of the simulated network and the validators' keys (test support for sim.py).

Keys are real secp256k1 keys; signatures and verifications are memoized across runs, which
is sound because RFC 6979 signing is deterministic and a message's validity never changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_hash.auto import keccak

from ledger.consensus import (
    KeySigner,
    Message,
    Proposal,
    SignerAPI,
    TimeoutConfig,
    ValidatorSet,
    verify_proposal,
    verify_vote,
)
from ledger.consensus.exceptions import ConsensusError, InvalidSignature
from ledger.typing import Address

CHAIN_ID = 1337
SIM_TIMEOUTS = TimeoutConfig(
    propose_ms=300,
    propose_delta_ms=100,
    prevote_ms=200,
    prevote_delta_ms=100,
    precommit_ms=200,
    precommit_delta_ms=100,
)


# Keys and signatures: real secp256k1, cached because RFC 6979 makes them deterministic ---


class CachingSigner(SignerAPI):
    """A real :class:`KeySigner` whose (deterministic) signatures are memoized."""

    _cache: dict[tuple[Address, bytes], bytes] = {}  # noqa: RUF012 - shared on purpose

    def __init__(self, inner: KeySigner) -> None:
        self._inner = inner

    @property
    def address(self) -> Address:
        return self._inner.address

    def sign(self, digest: bytes) -> bytes:
        key = (self._inner.address, digest)
        signature = self._cache.get(key)
        if signature is None:
            signature = self._cache[key] = self._inner.sign(digest)
        return signature


_VERIFIED: dict[Message, bool] = {}


def signers(n: int) -> list[CachingSigner]:
    """n validators with fixed keys (sorted by address so index i is stable)."""
    made = [CachingSigner(KeySigner(keccak(b"sim-validator-%d" % i))) for i in range(n)]
    return sorted(made, key=lambda s: s.address)


def verified(message: Message, validators: ValidatorSet) -> bool:
    """The driver's boundary check (real signature recovery), memoized per message."""
    ok = _VERIFIED.get(message)
    if ok is None:
        try:
            if isinstance(message, Proposal):
                verify_proposal(message, chain_id=CHAIN_ID, validators=validators)
            else:
                verify_vote(message, chain_id=CHAIN_ID, validators=validators)
            ok = True
        except ConsensusError:
            ok = False
        _VERIFIED[message] = ok
    return ok


def cached_verify(message: Message, chain_id: int, validators: ValidatorSet) -> None:
    """The driver's ``verify`` hook, backed by the memoized real check."""
    assert chain_id == CHAIN_ID
    if not verified(message, validators):
        raise InvalidSignature("rejected at the boundary")


# Schedules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Crash:
    node: int
    at_ms: int
    restart_ms: int | None  # None: down for good


@dataclass(frozen=True)
class Partition:
    groups: tuple[frozenset[int], ...]
    start_ms: int
    heal_ms: int

    def separates(self, a: int, b: int, now: int) -> bool:
        if not self.start_ms <= now < self.heal_ms:
            return False
        return not any(a in g and b in g for g in self.groups)


@dataclass(frozen=True)
class Schedule:
    n: int
    seed: int
    heights: int = 2
    gst_ms: int = 0
    loss: float = 0.0
    duplicate: float = 0.0
    max_delay_ms: int = 50
    post_gst_delay_ms: int = 50
    crashes: tuple[Crash, ...] = ()
    partition: Partition | None = None
    byzantine: int | None = None
    gossip_ms: int = 400
    powers: tuple[int, ...] | None = None  # None: equal power; 0: joins later (or never)
    changes: tuple[tuple[int, int, int], ...] = ()  # (height, node, new power; 0 removes)
    # Extra pre-GST loss for one message kind: lets a schedule starve precommits (locks
    # form but few decide) or prevotes, the situations where locking rules matter.
    prevote_loss: float = 0.0
    precommit_loss: float = 0.0
