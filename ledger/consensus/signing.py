"""Sign bytes, signing and the boundary verification of consensus messages.

Sign bytes (precommits use :func:`ledger.seal.precommit_digest`, so a precommit's signature
*is* the commit seal that goes into the header; the other two mirror its shape):

- precommit: ``keccak256(rlp([b"medledger/precommit/v1", chain_id, height, round, hash]))``
- prevote:   the same with ``b"medledger/prevote/v1"``
- proposal:  ``keccak256(rlp([b"medledger/proposal/v1", chain_id, height, round, hash,
  valid_round + 1]))``

``hash`` is the 32-byte block hash, or ``b""`` for a nil vote. ``valid_round`` is shifted by
one because RLP cannot encode -1 and encodes ``0`` and ``b""`` identically. Signatures are
secp256k1, 65 bytes ``r || s || v`` with ``v`` in {0, 1}; only low-s signatures are accepted
so that a seal has exactly one encoding (recovery is :func:`ledger.seal.recover_signer`).
"""

from __future__ import annotations

import rlp
from eth_hash.auto import keccak
from eth_keys.datatypes import PrivateKey
from eth_utils.exceptions import ValidationError

from ledger import seal
from ledger.consensus.abc import SignerAPI
from ledger.consensus.exceptions import InvalidMessage, InvalidSignature, UnknownSigner
from ledger.consensus.types import Proposal, Vote, VoteKind
from ledger.consensus.validators import ValidatorSet
from ledger.exceptions import SealError
from ledger.typing import Address, Hash32

PRECOMMIT_TAG = seal.PRECOMMIT_DOMAIN
PREVOTE_TAG = b"medledger/prevote/v1"
PROPOSAL_TAG = b"medledger/proposal/v1"


def _check_position(height: int, round_: int) -> None:
    if height < 0 or round_ < 0:
        raise InvalidMessage(f"height and round must be >= 0, got {height}/{round_}")


def _check_hash(value: bytes) -> None:
    if len(value) != 32:
        raise InvalidMessage(f"a block hash has 32 bytes, got {len(value)}")


def vote_sign_bytes(
    *, chain_id: int, kind: VoteKind, height: int, round_: int, value: Hash32 | None
) -> bytes:
    """The 32-byte digest a validator signs for a prevote or precommit."""
    _check_position(height, round_)
    if value is not None:
        _check_hash(value)
    block_hash = b"" if value is None else value
    if kind is VoteKind.PRECOMMIT:
        return seal.precommit_digest(
            chain_id=chain_id, height=height, round=round_, block_hash=block_hash
        )
    return bytes(keccak(rlp.encode([PREVOTE_TAG, chain_id, height, round_, block_hash])))


def proposal_sign_bytes(
    *, chain_id: int, height: int, round_: int, value: Hash32, valid_round: int
) -> bytes:
    """The 32-byte digest a proposer signs for ``<PROPOSAL, h, r, v, vr>``."""
    _check_position(height, round_)
    _check_hash(value)
    if not -1 <= valid_round < round_:
        raise InvalidMessage(f"valid_round must be in [-1, {round_}), got {valid_round}")
    payload = [PROPOSAL_TAG, chain_id, height, round_, value, valid_round + 1]
    return bytes(keccak(rlp.encode(payload)))


def recover_signer(digest: bytes, signature: bytes) -> Address:
    """The address that made ``signature`` over ``digest``; raises ``InvalidSignature``."""
    try:
        return seal.recover_signer(signature, digest)
    except SealError as exc:
        raise InvalidSignature(str(exc)) from exc


class KeySigner(SignerAPI):
    """A :class:`SignerAPI` over a raw secp256k1 private key (tests, embedded single node)."""

    def __init__(self, private_key: bytes) -> None:
        try:
            self._key = PrivateKey(private_key)
        except ValidationError as exc:
            raise InvalidSignature("not a valid secp256k1 private key") from exc
        self._address = Address(self._key.public_key.to_canonical_address())

    @property
    def address(self) -> Address:
        return self._address

    def sign(self, digest: bytes) -> bytes:
        return bytes(self._key.sign_msg_hash(digest).to_bytes())


def sign_vote(
    signer: SignerAPI,
    *,
    chain_id: int,
    kind: VoteKind,
    height: int,
    round_: int,
    value: Hash32 | None,
) -> Vote:
    """A vote by ``signer``."""
    digest = vote_sign_bytes(
        chain_id=chain_id, kind=kind, height=height, round_=round_, value=value
    )
    return Vote(kind, height, round_, value, signer.address, signer.sign(digest))


def sign_proposal(
    signer: SignerAPI,
    *,
    chain_id: int,
    height: int,
    round_: int,
    value: Hash32,
    valid_round: int,
) -> Proposal:
    """A proposal by ``signer``."""
    digest = proposal_sign_bytes(
        chain_id=chain_id, height=height, round_=round_, value=value, valid_round=valid_round
    )
    return Proposal(height, round_, value, valid_round, signer.address, signer.sign(digest))


def verify_vote(vote: Vote, *, chain_id: int, validators: ValidatorSet) -> None:
    """Check a received vote before the machine sees it.

    Raises
    ------
    InvalidMessage
        Fields out of range.
    InvalidSignature
        The signature does not recover to ``vote.validator``.
    UnknownSigner
        ``vote.validator`` is not in the height's validator set.
    """
    if vote.validator not in validators:
        raise UnknownSigner(f"{vote.validator.hex()} is not a validator")
    digest = vote_sign_bytes(
        chain_id=chain_id, kind=vote.kind, height=vote.height, round_=vote.round, value=vote.value
    )
    if recover_signer(digest, vote.signature) != vote.validator:
        raise InvalidSignature("vote signature is not by its validator")


def verify_proposal(proposal: Proposal, *, chain_id: int, validators: ValidatorSet) -> None:
    """Check a received proposal before the machine sees it (raises like ``verify_vote``).

    Whether the sender is the round's proposer is the machine's business (it ignores
    proposals from anyone else), not a signature matter.
    """
    if proposal.proposer not in validators:
        raise UnknownSigner(f"{proposal.proposer.hex()} is not a validator")
    digest = proposal_sign_bytes(
        chain_id=chain_id,
        height=proposal.height,
        round_=proposal.round,
        value=proposal.value,
        valid_round=proposal.valid_round,
    )
    if recover_signer(digest, proposal.signature) != proposal.proposer:
        raise InvalidSignature("proposal signature is not by its proposer")
