"""Validators governed by the genesis ``Consortium``: real ledgers, TCP, consensus, sync.

Three founding validators and a fourth node that is not yet a member (it runs as an
observer: its key is in no validator set). An admission vote makes it a validator member;
from the height after the admitting block its precommits count, which is shown by stopping
an old validator: the chain goes on only because the newcomer's seal completes the quorum
(3 of 4). A suspension voted afterwards is enforced by every node's mempool from the next
block; the stopped validator catches up by p2p block sync, and a fresh ledger replays the
whole chain verifying every commit against the validator set of its height.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

from contracts.typing import Tier
from ledger.abc import TransactionLocation
from ledger.chain import Ledger
from ledger.config import Genesis
from ledger.exceptions import TransactionNotFound, TransactionRejected, UnknownValidator
from ledger.seal import verify_commit
from ledger.typing import Address, BlockNumber, Hash32
from tests.ledger.governance import Founder, calldata, governed_genesis
from tests.ledger.helpers import CHAIN_ID, KEYS, address, address_bytes, sign
from tests.ledger.p2p.cluster import VALIDATOR_KEYS, Cluster

pytestmark = pytest.mark.asyncio

V0, V1, V2, NEWCOMER = VALIDATOR_KEYS
#: The member accounts of the hospitals whose validators are V0, V1, V2, NEWCOMER: every
#: transaction comes from these; a validator key only seals blocks and votes.
A0, A1, A2, NEWCOMER_ACCOUNT = KEYS[1:5]
MEMBER = KEYS[0]  # a founding member that does not validate


class Txs:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.nonces: dict[bytes, int] = {}
        assert cluster.genesis.consortium_contract is not None
        self.contract = cluster.genesis.consortium_contract

    def raw(self, key: bytes, data: bytes = b"") -> bytes:
        nonce = self.nonces.get(key, 0)
        self.nonces[key] = nonce + 1
        return sign(key, nonce=nonce, to=self.contract, data=data, gas=1_000_000)

    async def mine(self, node: int, key: bytes, function: str, *args: object) -> int:
        """Send through ``node``; return the block that holds it once every running node has it."""
        raw = self.raw(key, calldata(function, *args))
        self.cluster.submit(node, raw)
        tx_hash = Hash32(keccak(raw))
        for _ in range(400):
            found = [_mined_in(ledger, tx_hash) for ledger in self.cluster.ledgers if ledger]
            if found and all(f is not None for f in found):
                assert found[0] is not None
                return found[0].block_number
            await asyncio.sleep(0.05)
        raise AssertionError(f"{function} was not mined on every node")


def _mined_in(ledger: Ledger, tx_hash: Hash32) -> TransactionLocation | None:
    try:
        return ledger.get_transaction(tx_hash)[1]
    except TransactionNotFound:
        return None  # not gossiped to this node yet


def _four_validators() -> Genesis:
    """A governed genesis whose four founders all validate, each with its own validator key."""
    return governed_genesis(
        [
            Founder(A0, Tier.VILLAGE_CLINIC, validator=True, validator_key=V0),
            Founder(A1, Tier.TOWNSHIP_HEALTH_CENTRE, validator=True, validator_key=V1),
            Founder(A2, Tier.COUNTY_HOSPITAL, validator=True, validator_key=V2),
            Founder(
                NEWCOMER_ACCOUNT, Tier.TERTIARY_HOSPITAL, validator=True, validator_key=NEWCOMER
            ),
        ]
    )


def sorted_set(*keys: bytes) -> tuple[Address, ...]:
    return tuple(sorted(address_bytes(k) for k in keys))


async def test_an_admitted_validator_seals_from_the_next_height_and_sync_verifies_it(
    tmp_path: Path,
) -> None:
    genesis = governed_genesis(
        [
            Founder(A0, Tier.VILLAGE_CLINIC, validator=True, validator_key=V0),
            Founder(A1, Tier.TOWNSHIP_HEALTH_CENTRE, validator=True, validator_key=V1),
            Founder(A2, Tier.COUNTY_HOSPITAL, validator=True, validator_key=V2),
            Founder(MEMBER, Tier.TERTIARY_HOSPITAL, validator=False),
        ]
    )
    cluster = Cluster(tmp_path, n=4, genesis=genesis)
    txs = Txs(cluster)
    old, new = sorted_set(V0, V1, V2), sorted_set(V0, V1, V2, NEWCOMER)
    try:
        for i in range(4):
            cluster.start(i)
        newcomer = to_checksum_address(address(NEWCOMER_ACCOUNT))
        await txs.mine(0, A0, "proposeAdmission", newcomer, "new", int(Tier.COUNTY_HOSPITAL),
                       b"\x09" * 32, "http://127.0.0.1:9", True,
                       to_checksum_address(address(NEWCOMER)))  # fmt: skip
        await txs.mine(1, A1, "vote", 1)
        admitted = await txs.mine(2, A2, "vote", 1)  # 3 of 4 members: carried
        for ledger in cluster.ledgers:
            assert ledger is not None
            assert ledger.validators_at(admitted) == old
            assert ledger.validators_at(admitted + 1) == new

        await cluster.stop(2)  # 3 of the 4 validators left: v0, v1 and the newcomer
        member = to_checksum_address(address(MEMBER))
        first = await txs.mine(0, A0, "proposeSuspension", member)
        assert first > admitted
        await txs.mine(1, A1, "vote", 2)
        await txs.mine(3, NEWCOMER_ACCOUNT, "vote", 2)
        suspended = await txs.mine(0, A2, "vote", 2)  # 4 of 5 active members (v2 signs only)
        ledger0 = cluster.ledgers[0]
        assert ledger0 is not None
        commit = ledger0.get_commit(BlockNumber(first))
        sealers = {s.validator for s in commit.seals}
        assert address_bytes(NEWCOMER) in sealers
        # sealed by validator keys only: no member account signs a block or a vote
        accounts = {address_bytes(k) for k in (A0, A1, A2, NEWCOMER_ACCOUNT, MEMBER)}
        assert not sealers & accounts
        assert ledger0.get_block_by_number(BlockNumber(first)).header.coinbase in new
        verify_commit(commit, new, CHAIN_ID, height=first)
        with pytest.raises(UnknownValidator):
            verify_commit(commit, old, CHAIN_ID, height=first)

        for i in (0, 1, 3):  # every running node refuses the suspended member from now on
            ledger = cluster.ledgers[i]
            assert ledger is not None
            with pytest.raises(TransactionRejected) as refused:
                ledger.send_raw_transaction(sign(MEMBER, nonce=0, to=txs.contract))
            assert refused.value.reason == "not-permitted"
        assert ledger0.validators_at(suspended + 1) == new  # a non-validator left: same set

        cluster.start(2)  # the stopped validator syncs blocks sealed by the new set
        await cluster.wait_heads(ledger0.head().block_number)

        fresh = Ledger(tmp_path / "fresh", genesis)
        try:
            for n in range(1, ledger0.head().block_number + 1):
                number = BlockNumber(n)
                fresh.import_block(ledger0.get_block_by_number(number), ledger0.get_commit(number))
            assert fresh.head().hash == ledger0.head().hash
            assert fresh.validators_at(admitted + 1) == new
        finally:
            fresh.close()
    finally:
        await cluster.close()


async def test_a_validator_flagged_off_is_dropped_from_every_validators_links(
    tmp_path: Path,
) -> None:
    """All four configure each other; the chain's vote overrides the config files."""
    genesis = _four_validators()
    cluster = Cluster(tmp_path, n=4, genesis=genesis)
    txs = Txs(cluster)
    leaver = address_bytes(NEWCOMER)
    try:
        nodes = [cluster.start(i) for i in range(4)]
        for _ in range(200):  # bounded: the full mesh comes up
            if all(len(n.transport.connected) == 3 for n in nodes):
                break
            await asyncio.sleep(0.05)
        assert leaver in nodes[0].transport.connected
        target = to_checksum_address(address(NEWCOMER_ACCOUNT))  # the member, not its key
        await txs.mine(0, A0, "proposeValidatorFlag", target, False)
        await txs.mine(1, A1, "vote", 1)
        flagged = await txs.mine(2, A2, "vote", 1)  # 3 of 4: carried
        assert cluster.ledgers[0] is not None
        assert leaver not in cluster.ledgers[0].validators_at(flagged + 1)
        for _ in range(100):
            if all(leaver not in n.transport.connected for n in nodes[:3]):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # it keeps redialing (its config lists them): refused
        for node in nodes[:3]:
            assert leaver not in node.transport.allowed
            assert leaver not in node.transport.connected
        assert nodes[3].transport.connected == frozenset()
        await cluster.stop(3)  # cut off, it cannot follow any more (mine() waits for all)
        await txs.mine(0, A0, "setEndpoint", "http://127.0.0.1:10")  # the three go on alone
    finally:
        await cluster.close()


async def test_a_member_rotates_its_validator_key_and_only_the_new_key_seals_after(
    tmp_path: Path,
) -> None:
    """Hospital 0 replaces a (leaked) validator key by its own call, no vote needed.

    From the height after the rotating block the old key is out of the set and of every
    validator's links; node 0 restarted on the new key seals again, which the chain's
    progress shows once another validator stops (3 of 4 is the quorum).
    """
    genesis = _four_validators()
    cluster = Cluster(tmp_path, n=4, genesis=genesis)
    txs = Txs(cluster)
    fresh_key = keccak(b"hospital 0's new validator key")
    old, fresh = address_bytes(V0), address_bytes(fresh_key)
    try:
        for i in range(4):
            cluster.start(i)
        # the old key cannot rotate anything: it is no account (refused by the mempool)
        ledger0 = cluster.ledgers[0]
        assert ledger0 is not None
        with pytest.raises(TransactionRejected):
            ledger0.send_raw_transaction(
                sign(V0, to=txs.contract, data=calldata("rotateValidatorKey", address(V1)))
            )
        rotated = await txs.mine(
            1, A0, "rotateValidatorKey", to_checksum_address(address(fresh_key))
        )
        for ledger in cluster.ledgers:
            assert ledger is not None
            assert ledger.validators_at(rotated) == sorted_set(V0, V1, V2, NEWCOMER)
            assert ledger.validators_at(rotated + 1) == sorted_set(fresh_key, V1, V2, NEWCOMER)

        await cluster.stop(0)
        cluster.keys[0] = fresh_key  # the peers' configs still name the old key there:
        cluster.start(0, announce=True)  # same data dir, new key, dialed back where it says
        await cluster.stop(3)  # quorum now needs the new key's seals
        last = await txs.mine(1, A1, "setEndpoint", "http://127.0.0.1:11")
        ledger1 = cluster.ledgers[1]
        assert ledger1 is not None
        commit = ledger1.get_commit(BlockNumber(last))
        sealers = {s.validator for s in commit.seals}
        assert fresh in sealers and old not in sealers
        verify_commit(commit, sorted_set(fresh_key, V1, V2, NEWCOMER), CHAIN_ID, height=last)
        node1 = cluster.nodes[1]
        assert node1 is not None and old not in node1.transport.allowed
    finally:
        await cluster.close()
