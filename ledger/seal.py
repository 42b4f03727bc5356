"""Commit seals: validators' precommit signatures proving a block final.

The bytes a validator signs for a precommit are shared with the consensus state machine
(do not change without changing it)::

    keccak256(rlp.encode([b"medledger/precommit/v1", chain_id, height, round, block_hash]))

signed with the validator's secp256k1 key as 65 bytes ``r || s || v`` (v in {0, 1}, low s).

A header cannot hold seals over its own hash, so block N carries the commit of block N-1 in
its extraData (Tendermint's LastCommit), encoded as RLP
``[1, height, round, block_hash, [[validator, signature], ...]]``. The commit of the head
block lives only in the node's database until the next block is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import rlp
from coincurve import PrivateKey, PublicKey
from eth_hash.auto import keccak

from ledger.abc import Commit, CommitSeal
from ledger.exceptions import (
    CommitMismatch,
    DuplicateSeal,
    InsufficientVotingPower,
    InvalidSeal,
    MalformedCommit,
    UnknownValidator,
)
from ledger.sigcache import SIGNERS
from ledger.typing import Address, BlockNumber, ChainId, Hash32

PRECOMMIT_DOMAIN = b"medledger/precommit/v1"
COMMIT_VERSION = 1
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def precommit_digest(*, chain_id: int, height: int, round: int, block_hash: bytes) -> bytes:
    """The 32 bytes a validator signs to precommit ``block_hash`` at ``height``/``round``."""
    digest: bytes = keccak(rlp.encode([PRECOMMIT_DOMAIN, chain_id, height, round, block_hash]))
    return digest


def address_of(public_key: PublicKey) -> Address:
    """The Ethereum address of a secp256k1 public key."""
    return Address(keccak(public_key.format(compressed=False)[1:])[-20:])


def sign_precommit(
    private_key: bytes, *, chain_id: int, height: int, round: int, block_hash: bytes
) -> CommitSeal:
    """Sign a precommit with a 32-byte private key; returns the seal."""
    key = PrivateKey(private_key)
    digest = precommit_digest(chain_id=chain_id, height=height, round=round, block_hash=block_hash)
    signature = key.sign_recoverable(digest, hasher=None)
    return CommitSeal(validator=address_of(key.public_key), signature=signature)


def recover_signer(signature: bytes, digest: bytes) -> Address:
    """The address that made ``signature`` over ``digest``; raises ``InvalidSeal``."""
    if len(signature) != 65 or signature[64] not in (0, 1):
        raise InvalidSeal("a seal signature is 65 bytes r || s || v with v in {0, 1}")
    s = int.from_bytes(signature[32:64], "big")
    if not 0 < s <= _SECP256K1_N // 2:
        raise InvalidSeal("seal signature s value is not in the lower half of the curve order")
    cached = SIGNERS.get(digest, signature)  # each signature is recovered once
    if cached is not None:
        return cached
    try:
        public_key = PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except Exception as exc:  # coincurve raises plain ValueError/Exception on bad points
        raise InvalidSeal(f"seal signature does not recover a public key: {exc}") from exc
    signer = address_of(public_key)
    SIGNERS.put(digest, signature, signer)
    return signer


def encode_commit(commit: Commit) -> bytes:
    """The RLP form of a commit, as carried in the next block's extraData."""
    encoded: bytes = rlp.encode(
        [
            COMMIT_VERSION,
            commit.height,
            commit.round,
            commit.block_hash,
            [[seal.validator, seal.signature] for seal in commit.seals],
        ]
    )
    return encoded


def _uint(item: object, what: str) -> int:
    if not isinstance(item, bytes) or (item[:1] == b"\x00"):
        raise MalformedCommit(f"{what} is not a canonical RLP integer")
    return int.from_bytes(item, "big")


def decode_commit(data: bytes) -> Commit:
    """Decode a commit from extraData bytes; raises ``MalformedCommit``."""
    try:
        items = rlp.decode(data, strict=True)
    except rlp.exceptions.DecodingError as exc:
        raise MalformedCommit(f"commit is not valid RLP: {exc}") from exc
    if not isinstance(items, list) or len(items) != 5:
        raise MalformedCommit("commit must be a list of 5 items")
    version, height, round_, block_hash, raw_seals = items
    if _uint(version, "version") != COMMIT_VERSION:
        raise MalformedCommit(f"unsupported commit version (expected {COMMIT_VERSION})")
    if not isinstance(block_hash, bytes) or len(block_hash) != 32:
        raise MalformedCommit("block hash must be 32 bytes")
    if not isinstance(raw_seals, list):
        raise MalformedCommit("seals must be a list")
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
            raise MalformedCommit("a seal must be [20-byte address, 65-byte signature]")
        seals.append(CommitSeal(validator=Address(raw[0]), signature=raw[1]))
    return Commit(
        height=BlockNumber(_uint(height, "height")),
        round=_uint(round_, "round"),
        block_hash=Hash32(block_hash),
        seals=tuple(seals),
    )


def verify_commit(
    commit: Commit,
    validators: Mapping[Address, int] | Sequence[Address],
    chain_id: ChainId | int,
    *,
    height: int | None = None,
    block_hash: bytes | None = None,
) -> None:
    """Check that ``commit`` proves its block final; return ``None`` or raise.

    Parameters
    ----------
    commit
        The commit to check (from ``decode_commit`` of a header's extraData, or from a node).
    validators
        The validator set at the commit's height: address -> voting power, or a sequence of
        addresses with equal power.
    chain_id
        The chain the precommits must be for (it is part of the signed bytes).
    height, block_hash
        When given, the commit must be for exactly this block.

    Raises
    ------
    CommitMismatch
        ``height``/``block_hash`` given and different from the commit's.
    DuplicateSeal, UnknownValidator, InvalidSeal
        A seal is repeated, by a non-validator, or not a valid signature of its validator
        over this chain id, height, round and block hash.
    InsufficientVotingPower
        The seals hold no more than 2/3 of the total voting power.
    """
    power: Mapping[Address, int] = (
        validators if isinstance(validators, Mapping) else dict.fromkeys(validators, 1)
    )
    if height is not None and commit.height != height:
        raise CommitMismatch(f"commit is for height {commit.height}, expected {height}")
    if block_hash is not None and commit.block_hash != block_hash:
        raise CommitMismatch("commit is for another block hash")
    signed_power = _signed_power(commit, power, chain_id)
    total = sum(power.values())
    if 3 * signed_power <= 2 * total:
        raise InsufficientVotingPower(
            f"seals hold {signed_power} of {total} voting power; more than 2/3 is needed"
        )


def _signed_power(commit: Commit, power: Mapping[Address, int], chain_id: int) -> int:
    """The voting power of ``commit``'s seals, each checked (see :func:`verify_commit`)."""
    digest = precommit_digest(
        chain_id=chain_id, height=commit.height, round=commit.round, block_hash=commit.block_hash
    )
    seen: set[Address] = set()
    signed = 0
    for seal in commit.seals:
        if seal.validator in seen:
            raise DuplicateSeal(f"validator 0x{seal.validator.hex()} sealed twice")
        seen.add(seal.validator)
        if seal.validator not in power:
            raise UnknownValidator(f"0x{seal.validator.hex()} is not a validator")
        if recover_signer(seal.signature, digest) != seal.validator:
            raise InvalidSeal(
                f"seal of 0x{seal.validator.hex()} is not its signature over this precommit"
            )
        signed += power[seal.validator]
    return signed
