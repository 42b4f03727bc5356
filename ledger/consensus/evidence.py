"""Equivocation evidence in a portable form, for the node log or an on-chain report.

The consortium acts on evidence (a suspension vote), so anyone must be able to check it
without trusting the reporter: :func:`verify_equivocation` re-checks both signatures and
that they really conflict. :func:`encode_equivocation` gives canonical RLP bytes (the
message kind, then each message's fields and signature) suitable for a log line (hex) or a
contract call; :func:`decode_equivocation` reverses it strictly.
"""

from __future__ import annotations

import rlp

from ledger.consensus.exceptions import ConsensusError, InvalidMessage
from ledger.consensus.signing import verify_proposal, verify_vote
from ledger.consensus.types import Equivocation, Message, Proposal, Vote, VoteKind
from ledger.consensus.validators import ValidatorSet
from ledger.typing import Address, Hash32

_PROPOSAL = 0


def _position(message: Message) -> tuple[Address, int, int, int]:
    if isinstance(message, Proposal):
        return message.proposer, message.height, message.round, _PROPOSAL
    return message.validator, message.height, message.round, int(message.kind)


def verify_equivocation(evidence: Equivocation, *, chain_id: int, validators: ValidatorSet) -> None:
    """Check that ``evidence`` proves a double-sign by a validator of that height.

    Raises
    ------
    InvalidMessage
        The two messages are not for one signer/height/round/kind, or do not differ.
    InvalidSignature, UnknownSigner
        A message is not genuinely signed by a validator of ``validators``.
    """
    first, second = evidence.first, evidence.second
    if _position(first) != _position(second):
        raise InvalidMessage("the two messages are not for the same signer, height, round, kind")
    if first == second or (
        isinstance(first, Vote) and isinstance(second, Vote) and first.value == second.value
    ):
        raise InvalidMessage("the two messages do not conflict")
    for message in (first, second):
        if isinstance(message, Proposal):
            verify_proposal(message, chain_id=chain_id, validators=validators)
        else:
            verify_vote(message, chain_id=chain_id, validators=validators)


def _encode_message(message: Message) -> list[object]:
    if isinstance(message, Proposal):
        return [
            _PROPOSAL,
            message.height,
            message.round,
            message.value,
            message.valid_round + 1,
            message.proposer,
            message.signature,
        ]
    value = b"" if message.value is None else message.value
    return [
        int(message.kind),
        message.height,
        message.round,
        value,
        message.validator,
        message.signature,
    ]


def encode_equivocation(evidence: Equivocation) -> bytes:
    """Canonical RLP of the two conflicting messages."""
    return bytes(rlp.encode([_encode_message(evidence.first), _encode_message(evidence.second)]))


def _uint(item: object) -> int:
    if not isinstance(item, bytes) or item[:1] == b"\x00" or len(item) > 8:
        raise InvalidMessage("not a canonical unsigned integer")
    return int.from_bytes(item, "big")


def _bytes(item: object, *sizes: int) -> bytes:
    if not isinstance(item, bytes) or len(item) not in sizes:
        raise InvalidMessage(f"expected {' or '.join(map(str, sizes))} bytes")
    return item


def _decode_message(item: object) -> Message:
    if not isinstance(item, list) or not item:
        raise InvalidMessage("a message is a non-empty list")
    kind = _uint(item[0])
    if kind == _PROPOSAL and len(item) == 7:
        return Proposal(
            _uint(item[1]),
            _uint(item[2]),
            Hash32(_bytes(item[3], 32)),
            _uint(item[4]) - 1,
            Address(_bytes(item[5], 20)),
            _bytes(item[6], 65),
        )
    if kind in (VoteKind.PREVOTE, VoteKind.PRECOMMIT) and len(item) == 6:
        value = _bytes(item[3], 0, 32)
        return Vote(
            VoteKind(kind),
            _uint(item[1]),
            _uint(item[2]),
            Hash32(value) if value else None,
            Address(_bytes(item[4], 20)),
            _bytes(item[5], 65),
        )
    raise InvalidMessage("unknown message kind or wrong number of fields")


def decode_equivocation(data: bytes) -> Equivocation:
    """Parse :func:`encode_equivocation` output; raises ``InvalidMessage``."""
    try:
        item = rlp.decode(data, strict=True)
    except Exception as exc:  # pyrlp raises several unrelated exception types
        raise InvalidMessage("evidence is not well-formed RLP") from exc
    if not isinstance(item, list) or len(item) != 2:
        raise InvalidMessage("evidence is a list of two messages")
    try:
        return Equivocation(_decode_message(item[0]), _decode_message(item[1]))
    except ConsensusError:
        raise
    except ValueError as exc:
        raise InvalidMessage(str(exc)) from exc
