"""The ``Consortium`` in the genesis governs one ledger: who may send, who validates.

A real genesis ``Consortium`` (the compiled contract, constructor run by
``ledger.genesis_contract``), real transactions through the mempool and the JSON-RPC
dispatcher, blocks made by ``produce_block``. Each change made by a committed transaction
counts from the next block.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils.address import to_checksum_address

from contracts.typing import Tier
from ledger.chain import Ledger
from ledger.config import Genesis, dump_genesis
from ledger.exceptions import ConfigError, LedgerError, TransactionRejected
from ledger.launch import open_ledger
from ledger.permissions import ContractPermissions
from ledger.typing import BlockNumber
from tests.ledger.governance import ROLE_OPERATOR, Founder, calldata, governed_genesis
from tests.ledger.helpers import KEYS, OUTSIDER_KEY, VALIDATOR_KEY, address, address_bytes, sign
from tests.ledger.test_rpc_eth import Client

CLINIC, CENTRE, TERTIARY, COUNTY = KEYS[0], KEYS[1], KEYS[2], KEYS[3]
#: The county hospital validates with a key of its own: VALIDATOR_KEY is not its account.
FOUNDERS = [
    Founder(COUNTY, Tier.COUNTY_HOSPITAL, validator=True, validator_key=VALIDATOR_KEY),
    Founder(CLINIC, Tier.VILLAGE_CLINIC, validator=False),
    Founder(CENTRE, Tier.TOWNSHIP_HEALTH_CENTRE, validator=False),
    Founder(TERTIARY, Tier.TERTIARY_HOSPITAL, validator=False),
]


@pytest.fixture(scope="module")
def genesis() -> Genesis:
    return governed_genesis(FOUNDERS)


@pytest.fixture
def ledger(tmp_path: Path, genesis: Genesis) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "data", genesis, validator_key=VALIDATOR_KEY)
    yield led
    led.close()


class Sender:
    """Signs each key's next transaction to the genesis Consortium (nonces tracked)."""

    def __init__(self, ledger: Ledger, genesis: Genesis) -> None:
        assert genesis.consortium_contract is not None
        self.ledger, self.to = ledger, genesis.consortium_contract
        self.nonces: dict[bytes, int] = {}

    def raw(self, key: bytes, data: bytes = b"", to: str | None = None) -> bytes:
        nonce = self.nonces.get(key, 0)
        self.nonces[key] = nonce + 1
        return sign(key, nonce=nonce, to=to or self.to, data=data, gas=1_000_000)

    def mine(self, key: bytes, function: str, *args: object) -> None:
        self.ledger.send_raw_transaction(self.raw(key, calldata(function, *args)))
        block = self.ledger.produce_block()
        assert block is not None
        receipt = self.ledger.get_receipts(block)[0]
        assert receipt.state_root == b"\x01", f"{function} reverted"  # post-Byzantium status


def test_founders_may_send_from_block_zero_and_outsiders_may_not(ledger: Ledger) -> None:
    assert isinstance(ledger.permissions, ContractPermissions)
    assert ledger.head().block_number == 0
    for founder in FOUNDERS:
        assert ledger.permissions.is_permitted(address_bytes(founder.key))
    assert not ledger.permissions.is_permitted(address_bytes(OUTSIDER_KEY))
    assert ledger.validators() == (address_bytes(VALIDATOR_KEY),)


def test_a_validator_key_is_no_account_and_the_mempool_refuses_its_transactions(
    ledger: Ledger, genesis: Genesis
) -> None:
    """The block signer's key cannot transact: not a member, not staff (``isPermitted``)."""
    client, tx = Client(ledger), Sender(ledger, genesis)
    assert address(VALIDATOR_KEY) != address(COUNTY)
    assert not ledger.permissions.is_permitted(address_bytes(VALIDATOR_KEY))
    error = client.error("eth_sendRawTransaction", "0x" + tx.raw(VALIDATOR_KEY).hex())
    assert error["code"] == -32003 and error["data"] == "not-permitted"
    vote = tx.raw(VALIDATOR_KEY, calldata("proposeSuspension", address(CLINIC)))
    with pytest.raises(TransactionRejected) as refused:
        ledger.send_raw_transaction(vote)
    assert refused.value.reason == "not-permitted"
    # the blocks it seals carry its address as coinbase, and the member's txs go through
    tx.nonces[VALIDATOR_KEY] = 0
    ledger.send_raw_transaction(tx.raw(COUNTY))
    block = ledger.produce_block()
    assert block is not None and block.header.coinbase == address_bytes(VALIDATOR_KEY)
    assert block.transactions[0].sender == address_bytes(COUNTY)


def test_suspended_member_is_refused_with_the_rpc_error_from_the_next_block(
    ledger: Ledger, genesis: Genesis
) -> None:
    client, tx = Client(ledger), Sender(ledger, genesis)
    tertiary = to_checksum_address(address(TERTIARY))
    client("eth_sendRawTransaction", "0x" + tx.raw(TERTIARY).hex())  # still a member
    assert ledger.produce_block() is not None
    tx.mine(CLINIC, "proposeSuspension", tertiary)  # proposer's approval: 1 of 3
    tx.mine(CENTRE, "vote", 1)
    # the deciding vote and the member's next transaction wait in the same mempool
    ledger.send_raw_transaction(tx.raw(COUNTY, calldata("vote", 1)))
    queued = tx.raw(TERTIARY)
    ledger.send_raw_transaction(queued)  # admitted: the head still says "member"
    taken = ledger.mempool.take(ledger.gas_limit, 10)
    with ledger.lock:
        block, receipts, _ = ledger.build_block(
            [t for t in taken if t.sender == address_bytes(COUNTY)]
        )
        ledger.commit_block(block, receipts, ledger.sign_commit(block))
    assert receipts[0].state_root == b"\x01"
    # the block that suspended it was built on a state where it was still a member; from
    # the next block on it is out: its queued transaction is dropped, a new one refused
    assert ledger.produce_block() is None
    assert ledger.get_block_by_number(BlockNumber(ledger.head().block_number)).hash == block.hash
    error = client.error("eth_sendRawTransaction", "0x" + tx.raw(TERTIARY).hex())
    assert error["code"] == -32003 and error["data"] == "not-permitted"


def test_an_operator_registered_through_the_contract_may_transact(
    ledger: Ledger, genesis: Genesis
) -> None:
    tx = Sender(ledger, genesis)
    operator = to_checksum_address(address(OUTSIDER_KEY))
    with pytest.raises(TransactionRejected) as refused:
        ledger.send_raw_transaction(tx.raw(OUTSIDER_KEY))
    assert refused.value.reason == "not-permitted"
    tx.nonces[OUTSIDER_KEY] = 0
    tx.mine(CLINIC, "registerStaff", operator, ROLE_OPERATOR, b"\x00" * 32)
    ledger.send_raw_transaction(tx.raw(OUTSIDER_KEY, to="0x" + "22" * 20))
    block = ledger.produce_block()
    assert block is not None and block.transactions[0].sender == address_bytes(OUTSIDER_KEY)


def test_an_admitted_validator_counts_from_the_height_after_its_admission(
    ledger: Ledger, genesis: Genesis, tmp_path: Path
) -> None:
    tx = Sender(ledger, genesis)
    newcomer = to_checksum_address(address(KEYS[5]))
    newcomer_validator = to_checksum_address(address(KEYS[6]))
    tx.mine(CLINIC, "proposeAdmission", newcomer, "new", int(Tier.COUNTY_HOSPITAL),
            b"\x09" * 32, "http://127.0.0.1:9", True, newcomer_validator)  # fmt: skip
    tx.mine(CENTRE, "vote", 1)
    assert ledger.validators() == (address_bytes(VALIDATOR_KEY),)
    tx.mine(TERTIARY, "vote", 1)
    admitted_in = ledger.head().block_number
    # the chain counts the newcomer's validator key, not its member account
    expected = tuple(sorted([address_bytes(VALIDATOR_KEY), address_bytes(KEYS[6])]))
    assert ledger.validators_at(admitted_in) == (address_bytes(VALIDATOR_KEY),)
    assert ledger.validators_at(admitted_in + 1) == expected == ledger.validators()
    client = Client(ledger)  # what a client verifying seals asks for
    assert client("medledger_getValidators", hex(admitted_in)) == [
        "0x" + address_bytes(VALIDATOR_KEY).hex()
    ]
    next_height = hex(admitted_in + 1)
    assert client("medledger_getValidators", next_height) == ["0x" + a.hex() for a in expected]
    assert client.error("medledger_getValidators", hex(admitted_in + 2))["code"] == -32001
    # one seal of two validators is no quorum: this node can no longer commit alone
    ledger.send_raw_transaction(tx.raw(CLINIC))
    with pytest.raises(LedgerError, match="needs the validator set"):
        ledger.produce_block()
    assert ledger.head().block_number == admitted_in
    data_dir = Path(ledger._env.path)
    ledger.close()
    again = Ledger(data_dir, genesis, validator_key=VALIDATOR_KEY)  # the history is stored
    try:
        assert again.validators_at(admitted_in) == (address_bytes(VALIDATOR_KEY),)
        assert again.validators_at(admitted_in + 1) == expected
    finally:
        again.close()


def test_a_genesis_whose_validators_differ_from_the_contract_is_refused(
    tmp_path: Path, genesis: Genesis
) -> None:
    wrong = genesis.model_copy(update={"validators": [address(CLINIC)]})
    with pytest.raises(ConfigError, match="differ from the Consortium"):
        Ledger(tmp_path / "data", wrong)


def test_the_ledger_refuses_to_run_with_a_members_signing_key(
    tmp_path: Path, genesis: Genesis
) -> None:
    """A ledger.json pointing at the hospital's signing key fails at start, touching nothing."""
    path = tmp_path / "genesis.json"
    path.write_text(dump_genesis(genesis))
    with pytest.raises(ConfigError, match=r"validator key .* is an account that may transact"):
        open_ledger(genesis=path, data_dir=tmp_path / "data", validator_key=COUNTY)
    led = open_ledger(genesis=path, data_dir=tmp_path / "data", validator_key=VALIDATOR_KEY)
    led.close()  # the same data dir opens with the validator key: the refusal left no lock
