"""Cheap methods tools probe for, and the ``medledger_getCommit`` finality proof.

``net_``, ``web3_`` and static ``eth_`` answers: web3.py and wallets ask for them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from eth_utils.crypto import keccak

from ledger.abc import LedgerAPI
from ledger.exceptions import BlockNotFound
from ledger.rpc import params as p
from ledger.rpc.errors import ResourceNotFound
from ledger.rpc.format import Json
from ledger.rpc.hexcodec import to_data, to_quantity
from ledger.rpc.registry import RPCModule, rpc_method
from ledger.rpc.resolve import resolve_number


class EthStatic(RPCModule):
    """Answers that are constant on a permissioned BFT chain whose node holds no keys."""

    name = "eth"

    @rpc_method("syncing")
    def syncing(self) -> bool:
        return False

    @rpc_method("accounts")
    def accounts(self) -> list[str]:
        return []  # the node never holds users' keys: transactions arrive signed

    @rpc_method("mining")
    def mining(self) -> bool:
        return False

    @rpc_method("hashrate")
    def hashrate(self) -> str:
        return "0x0"


class Net(RPCModule):
    name = "net"

    def __init__(self, ledger: LedgerAPI) -> None:
        self.ledger = ledger

    @rpc_method("version")
    def version(self) -> str:
        return str(self.ledger.chain_id)

    @rpc_method("listening")
    def listening(self) -> bool:
        return True

    @rpc_method("peerCount")
    def peer_count(self) -> str:
        return "0x0"


class Web3(RPCModule):
    name = "web3"

    def __init__(self, client_version: str) -> None:
        self.client_version = client_version

    @rpc_method("clientVersion")
    def version(self) -> str:
        return self.client_version

    @rpc_method("sha3", p.Param("data", p.data))
    def sha3(self, data: bytes) -> str:
        return to_data(keccak(data))


@runtime_checkable
class EvidenceSource(Protocol):
    """A consortium validator's node keeps the equivocation evidence it saw."""

    def equivocations(self) -> list[dict[str, object]]: ...


@runtime_checkable
class ValidatorSource(Protocol):
    def validators_at(self, height: int) -> tuple[bytes, ...]: ...


class Medledger(RPCModule):
    name = "medledger"

    def __init__(self, ledger: LedgerAPI) -> None:
        self.ledger = ledger

    @rpc_method("getEquivocations")
    def get_equivocations(self) -> list[dict[str, object]]:
        """Double-signing evidence this validator saw (canonical RLP anyone can re-verify)."""
        if isinstance(self.ledger, EvidenceSource):
            return self.ledger.equivocations()
        return []  # a single-validator node has no one to equivocate

    @rpc_method("getValidators", p.Param("block", p.block_ref))
    def get_validators(self, ref: p.BlockRef) -> list[str]:
        """The validators whose seals finalize that block (``ledger.validator_sets``).

        With the commit from ``medledger_getCommit``, what ``ledger.seal.verify_commit``
        needs; a client that trusts no node recomputes it with ``eth_call`` of
        ``Consortium.validators()`` on the parent block.
        """
        number = resolve_number(self.ledger, ref)
        if number > self.ledger.head().block_number + 1 or not isinstance(
            self.ledger, ValidatorSource
        ):
            raise ResourceNotFound("block not found", data={"blockNumber": hex(number)})
        return [to_data(a) for a in self.ledger.validators_at(number)]

    @rpc_method("getCommit", p.Param("block", p.block_ref))
    def get_commit(self, ref: p.BlockRef) -> Json:
        """The commit seals that prove a block final (verifiable without trusting this node)."""
        number = resolve_number(self.ledger, ref)
        try:
            commit = self.ledger.get_commit(number)
        except BlockNotFound:
            raise ResourceNotFound("block not found", data={"blockNumber": hex(number)}) from None
        return {
            "height": to_quantity(commit.height),
            "round": to_quantity(commit.round),
            "blockHash": to_data(commit.block_hash),
            "seals": [
                {"validator": to_data(seal.validator), "signature": to_data(seal.signature)}
                for seal in commit.seals
            ],
        }
