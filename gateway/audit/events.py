"""Reading the suite's events: ``eth_getLogs`` by block range, decoded by the binding.

Each log becomes a :class:`ChainEvent` that carries everything an auditor needs to check it
independently: block number and hash, transaction hash, log index, block time, emitting
contract, and the *actor* (the transaction's sender: the account that signed the change,
which for a redemption through a gateway operator is the operator, not the physician).
Block times and senders are read once per block / transaction and cached.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import FilterParams, LogReceipt

from contracts.artifacts import CONTRACT_NAMES
from contracts.events import EventDecoder, contract_events
from contracts.exceptions import ChainUnavailable
from contracts.typing import SuiteAddresses
from gateway.audit.errors import AuditChainUnavailable
from gateway.audit.event import ChainEvent, TopicValue, json_value, topic_filter

#: Blocks per ``eth_getLogs`` call; a range the node refuses as too large is halved.
CHUNK_BLOCKS = 50_000
MIN_CHUNK_BLOCKS = 16


class EventReader:
    """Decoded events of the four suite contracts, read from any Ethereum JSON-RPC engine.

    Parameters
    ----------
    w3
        A client (with the extraData middleware our chain needs: ``contracts.deploy.connect``).
    deployment
        The suite's addresses (a ``Deployment`` or a node config's ``contracts``).
    from_block
        First block worth reading (the suite's deployment block, when known).
    chunk_blocks
        Blocks per ``eth_getLogs`` call (halved while the node says the answer is too big).
    """

    def __init__(
        self,
        w3: Web3,
        deployment: SuiteAddresses,
        *,
        from_block: int = 0,
        chunk_blocks: int = CHUNK_BLOCKS,
    ) -> None:
        if chunk_blocks < 1:
            raise ValueError("chunk_blocks must be at least 1")
        self.w3 = w3
        self.from_block = from_block
        self.chunk_blocks = chunk_blocks
        self._decoder = EventDecoder(deployment)
        self._by_name: dict[str, tuple[str, ChecksumAddress, HexBytes]] = {}
        for name in CONTRACT_NAMES:
            address = Web3.to_checksum_address(getattr(deployment, name.lower()))
            for spec in contract_events(name).values():
                self._by_name[spec.name] = (name, address, HexBytes(spec.topic))
        self._block = functools.lru_cache(maxsize=4096)(self._fetch_block)
        self._sender = functools.lru_cache(maxsize=16384)(self._fetch_sender)

    def signature(self, name: str) -> HexBytes:
        """Topic 0 of suite event ``name`` (keccak of its canonical signature)."""
        return self._by_name[name][2]

    def head(self) -> int:
        """The latest block number (final on our chain: BFT, no reorgs)."""
        try:
            return int(self.w3.eth.block_number)
        except (Web3Exception, OSError, ValueError) as exc:
            raise AuditChainUnavailable(f"cannot read the chain head: {_why(exc)}") from exc

    def query(
        self,
        names: Sequence[str],
        *,
        topics: Mapping[int, TopicValue | Sequence[TopicValue]],
        to_block: int,
    ) -> list[ChainEvent]:
        """Every event named in ``names`` whose indexed topics match, in chain order.

        ``topics`` maps a topic position (1-3: the indexed arguments in declaration order)
        to the value it must have, or to a list of values any of which may match; all
        ``names`` must have the wanted argument there.
        """
        unknown = [n for n in names if n not in self._by_name]
        if unknown:
            raise ValueError(f"not a suite event: {', '.join(unknown)}")
        filter_topics: list[Any] = [[self._by_name[n][2] for n in names]]
        for position in range(1, max(topics, default=0) + 1):
            filter_topics.append(topic_filter(topics[position]) if position in topics else None)
        addresses = sorted({self._by_name[n][1] for n in names})
        logs = self._get_logs(addresses, filter_topics, self.from_block, to_block)
        events = [self._decode(log) for log in logs]
        return sorted(events, key=lambda e: e.order)

    def _get_logs(
        self, addresses: list[ChecksumAddress], topics: list[Any], start: int, end: int
    ) -> list[LogReceipt]:
        found: list[LogReceipt] = []
        chunk = self.chunk_blocks
        block = start
        while block <= end:
            last = min(end, block + chunk - 1)
            params: FilterParams = {
                "address": addresses,
                "topics": topics,
                "fromBlock": block,
                "toBlock": last,
            }
            try:
                found.extend(self.w3.eth.get_logs(params))
            except (Web3Exception, OSError, ValueError) as exc:
                if chunk > MIN_CHUNK_BLOCKS and "more than" in str(exc):
                    chunk //= 2  # the node caps results per call: ask for less at once
                    continue
                raise AuditChainUnavailable(f"eth_getLogs failed: {_why(exc)}") from exc
            block = last + 1
        return found

    def _decode(self, log: LogReceipt) -> ChainEvent:
        try:
            # Only a faulty or lying node answers with logs we did not ask for.
            decoded = self._decoder.decode(log, strict=True)
            block_hash = "0x" + bytes(log["blockHash"]).hex()
        except ChainUnavailable as exc:
            raise AuditChainUnavailable(str(exc)) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise AuditChainUnavailable(
                f"the node returned an undecodable log: {_why(exc)}"
            ) from exc
        if decoded is None:  # pragma: no cover - strict decoding raises instead
            raise AuditChainUnavailable("the node returned an undecodable log")
        number, tx_hash = decoded.block_number, "0x" + decoded.tx_hash.hex()
        time, canonical = self._block(number)
        actor, tx_block = self._sender(tx_hash)
        if not canonical == tx_block == block_hash:
            raise AuditChainUnavailable(
                f"log of block {number} names block {block_hash}, the chain has {canonical} "
                f"and its transaction is in {tx_block}"
            )
        return ChainEvent(
            contract=decoded.contract,
            address=Web3.to_checksum_address(decoded.address),
            name=decoded.name,
            args={k: json_value(v) for k, v in decoded.args.items()},
            block_number=number,
            block_hash=block_hash,
            tx_hash=tx_hash,
            log_index=decoded.log_index,
            time=time,
            actor=actor,
        )

    def _fetch_block(self, number: int) -> tuple[datetime, str]:
        """The block's time and hash (the hash cross-checks every log said to be in it)."""
        try:
            block = self.w3.eth.get_block(number)
        except (Web3Exception, OSError, ValueError) as exc:
            raise AuditChainUnavailable(f"cannot read block {number}: {_why(exc)}") from exc
        return datetime.fromtimestamp(int(block["timestamp"]), UTC), "0x" + bytes(
            block["hash"]
        ).hex()

    def _fetch_sender(self, tx_hash: str) -> tuple[ChecksumAddress, str]:
        """The transaction's sender and the hash of the block that holds it."""
        try:
            tx = self.w3.eth.get_transaction(HexBytes(tx_hash))
            return Web3.to_checksum_address(tx["from"]), "0x" + bytes(tx["blockHash"]).hex()
        except (Web3Exception, OSError, ValueError, KeyError, TypeError) as exc:
            raise AuditChainUnavailable(f"cannot read transaction {tx_hash}: {_why(exc)}") from exc


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def names_of(events: Iterable[ChainEvent]) -> list[str]:
    """Event names in order (handy for summaries and tests)."""
    return [e.name for e in events]
