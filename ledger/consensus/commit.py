"""Commits: the > 2/3 precommit signatures that make a block final, and their verifier.

A :class:`ledger.abc.Commit` carries one :class:`ledger.abc.CommitSeal` per precommitting
validator (sorted by address). It travels in a header's extraData (RLP, see
:func:`encode_commit`), so a client holding only headers and the validator set can check
finality with :func:`verify_commit`; nothing else is needed.
"""

from __future__ import annotations

import rlp

from ledger.abc import Commit, CommitSeal
from ledger.consensus.exceptions import InvalidCommit, InvalidSignature
from ledger.consensus.signing import recover_signer, vote_sign_bytes
from ledger.consensus.types import Decide, VoteKind
from ledger.consensus.validators import ValidatorSet
from ledger.typing import Address, BlockNumber, Hash32

MAX_SEALS = 1024


def build_commit(decision: Decide) -> Commit:
    """The commit of a decision: its precommits' signatures, sorted by validator."""
    seals = sorted(
        (CommitSeal(v.validator, v.signature) for v in decision.precommits),
        key=lambda seal: seal.validator,
    )
    return Commit(BlockNumber(decision.height), decision.round, decision.value, tuple(seals))


def verify_commit(
    commit: Commit,
    *,
    chain_id: int,
    validators: ValidatorSet,
    block_hash: Hash32 | None = None,
    height: int | None = None,
) -> None:
    """Check that ``commit`` proves its block final under ``validators``.

    Every seal must recover (over the precommit sign bytes) to the validator it names, each
    validator may appear once, and their power must exceed 2/3 of the set's total.

    Raises
    ------
    InvalidCommit
        On any failure, with the reason; ``block_hash``/``height`` if given must match.
    """
    if block_hash is not None and commit.block_hash != block_hash:
        raise InvalidCommit("commit is for another block")
    if height is not None and commit.height != height:
        raise InvalidCommit("commit is for another height")
    try:
        digest = vote_sign_bytes(
            chain_id=chain_id,
            kind=VoteKind.PRECOMMIT,
            height=commit.height,
            round_=commit.round,
            value=commit.block_hash,
        )
    except Exception as exc:
        raise InvalidCommit(f"malformed commit: {exc}") from exc
    seen: set[Address] = set()
    power = 0
    for seal in commit.seals:
        if seal.validator in seen:
            raise InvalidCommit(f"validator {seal.validator.hex()} sealed twice")
        seen.add(seal.validator)
        if seal.validator not in validators:
            raise InvalidCommit(f"{seal.validator.hex()} is not a validator at this height")
        try:
            signer = recover_signer(digest, seal.signature)
        except InvalidSignature as exc:
            raise InvalidCommit(f"bad seal of {seal.validator.hex()}: {exc}") from exc
        if signer != seal.validator:
            raise InvalidCommit(f"seal of {seal.validator.hex()} was signed by someone else")
        power += validators.power_of(seal.validator)
    if not validators.is_quorum(power):
        raise InvalidCommit(f"seals carry {power} of {validators.total_power} power, need > 2/3")


def encode_commit(commit: Commit) -> bytes:
    """RLP ``[height, round, block_hash, [[validator, signature], ...]]`` for extraData."""
    seals = [[s.validator, s.signature] for s in commit.seals]
    return bytes(rlp.encode([commit.height, commit.round, commit.block_hash, seals]))


def _uint(item: object, what: str) -> int:
    if not isinstance(item, bytes) or (item[:1] == b"\x00") or len(item) > 8:
        raise InvalidCommit(f"{what} is not a canonical unsigned integer")
    return int.from_bytes(item, "big")


def decode_commit(data: bytes) -> Commit:
    """Parse :func:`encode_commit` output strictly; raises ``InvalidCommit``."""
    try:
        item = rlp.decode(data, strict=True)
    except Exception as exc:  # rlp raises several unrelated types
        raise InvalidCommit("commit is not well-formed RLP") from exc
    if not isinstance(item, list) or len(item) != 4:
        raise InvalidCommit("commit must be a 4-item list")
    height, round_ = _uint(item[0], "height"), _uint(item[1], "round")
    block_hash, raw_seals = item[2], item[3]
    if not isinstance(block_hash, bytes) or len(block_hash) != 32:
        raise InvalidCommit("block hash must be 32 bytes")
    if not isinstance(raw_seals, list) or len(raw_seals) > MAX_SEALS:
        raise InvalidCommit("seals must be a list of at most 1024 entries")
    seals = []
    for raw in raw_seals:
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not isinstance(raw[0], bytes)
            or len(raw[0]) != 20
            or not isinstance(raw[1], bytes)
            or len(raw[1]) != 65
        ):
            raise InvalidCommit("a seal is [20-byte address, 65-byte signature]")
        seals.append(CommitSeal(Address(raw[0]), raw[1]))
    return Commit(BlockNumber(height), round_, Hash32(block_hash), tuple(seals))
