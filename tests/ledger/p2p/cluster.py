"""Validators in one event loop: real ledgers, real TCP links on loopback, real consensus."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from ledger.bft.node import BftNode
from ledger.chain import Ledger
from ledger.config import Genesis
from ledger.consensus import TimeoutConfig
from ledger.p2p.transport import Endpoint
from tests.ledger.helpers import KEYS, address, address_bytes, make_genesis

VALIDATOR_KEYS = [bytes([0x40 + i]) * 32 for i in range(4)]
FAST = TimeoutConfig(300, 100, 200, 100, 200, 100)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Cluster:
    """``n`` validators; ``start``/``stop`` each one; all in the running loop."""

    def __init__(self, tmp_path: Path, n: int = 4, genesis: Genesis | None = None) -> None:
        self.keys = VALIDATOR_KEYS[:n]
        self.genesis = genesis or make_genesis(
            validators=[address(k) for k in self.keys],
            accounts=make_genesis().accounts,
        )
        ports = free_ports(n)
        self.endpoints = {
            address_bytes(k): Endpoint(address_bytes(k), "127.0.0.1", p)
            for k, p in zip(self.keys, ports, strict=True)
        }
        self.ports = ports
        self.dirs = [tmp_path / f"v{i}" for i in range(n)]
        self.ledgers: list[Ledger | None] = [None] * n
        self.nodes: list[BftNode | None] = [None] * n
        self._stops: list[asyncio.Event] = [asyncio.Event() for _ in range(n)]
        self._tasks: list[asyncio.Task[None] | None] = [None] * n

    def start(self, i: int, *, announce: bool = False) -> BftNode:
        """Start validator ``i``; ``announce`` makes it tell peers where it listens (a key
        their configs do not list, e.g. after a rotation, is dialed back there)."""
        ledger = Ledger(self.dirs[i], self.genesis, validator_key=self.keys[i])
        node = BftNode(
            ledger=ledger,
            key=self.keys[i],
            listen=("127.0.0.1", self.ports[i]),
            peers=self.endpoints,
            data_dir=self.dirs[i],
            timeouts=FAST,
            gossip_s=0.2,
            announce=f"127.0.0.1:{self.ports[i]}" if announce else "",
        )
        self.ledgers[i], self.nodes[i] = ledger, node
        self._stops[i] = asyncio.Event()
        self._tasks[i] = asyncio.create_task(node.run(self._stops[i]))
        return node

    async def stop(self, i: int) -> None:
        self._stops[i].set()
        task = self._tasks[i]
        if task is not None:
            await task
        ledger = self.ledgers[i]
        if ledger is not None:
            ledger.close()
        self.ledgers[i] = self.nodes[i] = self._tasks[i] = None

    async def close(self) -> None:
        for i in range(len(self.keys)):
            if self.nodes[i] is not None:
                await self.stop(i)

    def submit(self, i: int, raw: bytes) -> None:
        ledger, node = self.ledgers[i], self.nodes[i]
        assert ledger is not None and node is not None
        ledger.send_raw_transaction(raw)
        node.submit(raw)

    def heads(self) -> list[int]:
        return [ledger.head().block_number for ledger in self.ledgers if ledger is not None]

    async def wait_heads(self, at_least: int, timeout: float = 20.0) -> None:
        for _ in range(int(timeout / 0.05)):
            heads = self.heads()
            if heads and min(heads) >= at_least:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"heads {self.heads()} did not reach {at_least}")


SENDERS = KEYS
