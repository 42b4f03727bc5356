"""A loopback consortium of real ``medledger ledger run`` validator processes, and a load."""

from __future__ import annotations

import json
import random
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

from tests.integration.nodeproc import PASSPHRASE, NodeProcess, medledger, start_node

TEST_TIMEOUTS = {
    "propose_ms": 600,
    "propose_delta_ms": 200,
    "prevote_ms": 300,
    "prevote_delta_ms": 100,
    "precommit_ms": 300,
    "precommit_delta_ms": 100,
}


def free_ports(n: int) -> list[int]:
    """Free ports below the kernel's ephemeral range, so an RPC ``--port 0`` cannot take one."""
    ports: list[int] = []
    for _ in range(1000):
        if len(ports) == n:
            return ports
        port = random.randrange(20_000, 32_000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in ports:
            ports.append(port)
    raise RuntimeError("no free ports")


def free_port_block(span: int) -> int:
    """A base port with ``base .. base + span - 1`` free, below the ephemeral range.

    For ``consortium init --base-port``: a base picked by binding port 0 lies in the
    kernel's ephemeral range, where outgoing connections (of this and of concurrent test
    runs) may take the ports above it before the processes bind them.
    """
    for _ in range(200):
        base = random.randrange(20_000, 32_000 - span)
        if all(_bindable(port) for port in range(base, base + span)):
            return base
    raise RuntimeError("no free block of ports")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Consortium:
    """``ledger init --validators n`` in ``directory``, p2p ports made free, fast timeouts."""

    def __init__(self, directory: Path, *, validators: int, accounts: int) -> None:
        out = medledger(
            "ledger",
            "init",
            "--out",
            str(directory),
            "--validators",
            str(validators),
            "--accounts",
            str(accounts),
            "--json",
        )
        summary = json.loads(out.stdout)
        self.directory = directory
        self.n = validators
        self.chain_id: int = summary["chain_id"]
        ports = free_ports(validators)
        for i in range(validators):
            path = directory / f"node{i}" / "node.json"
            config = json.loads(path.read_text())
            config["p2p"]["port"] = ports[i]
            for j, peer in enumerate(config["p2p"]["peers"]):
                peer["port"] = ports[j]
            config["p2p"]["timeouts"] = TEST_TIMEOUTS
            config["p2p"]["gossip_ms"] = 200
            path.write_text(json.dumps(config))
        self.accounts = [
            Account.from_key(
                Account.decrypt(
                    json.loads((directory / f"account{i}.keystore.json").read_text()), PASSPHRASE
                )
            )
            for i in range(accounts)
        ]
        self.nodes: list[NodeProcess | None] = [None] * validators

    def start(self, i: int) -> NodeProcess:
        node = start_node(
            self.directory / f"node{i}", self.directory / f"node{i}" / "data", log_name="node.log"
        )
        self.nodes[i] = node
        return node

    def kill(self, i: int, sig: int = signal.SIGKILL) -> None:
        node = self.nodes[i]
        assert node is not None
        node.stop(sig)
        self.nodes[i] = None

    def stop_all(self) -> None:
        for i, node in enumerate(self.nodes):
            if node is not None:
                node.stop(signal.SIGTERM)
                self.nodes[i] = None

    def alive(self) -> list[NodeProcess]:
        return [n for n in self.nodes if n is not None]


def head(node: NodeProcess) -> int:
    return int(node.rpc("eth_blockNumber")["result"], 16)


def block_hash(node: NodeProcess, number: int) -> str:
    block = node.rpc("eth_getBlockByNumber", [hex(number), False])["result"]
    return str(block["hash"])


def _post(client: httpx.Client, node: NodeProcess, method: str, params: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return client.post(node.url, json=body).json()


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def sign_transfer(account: Any, nonce: int, chain_id: int, data: bytes = b"") -> str:
    tx = {
        "chainId": chain_id,
        "nonce": nonce,
        "gas": 60_000,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "to": "0x" + "22" * 20,
        "value": 1,
        "data": data,
    }
    return "0x" + bytes(Account.sign_transaction(tx, account.key).raw_transaction).hex()


class Load(threading.Thread):
    """A steady stream of transfers to whichever validators are alive (bounded rate).

    Like a real client it resubmits: a validator killed with -9 loses the transactions it
    had admitted but not yet gossiped (mempools are memory only), which leaves a nonce gap;
    every second the client re-sends what the chain has not mined yet.
    """

    def __init__(self, consortium: Consortium, account: Any, rate: float) -> None:
        super().__init__(daemon=True)
        self.consortium = consortium
        self.account = account
        self.interval = 1 / rate
        self.nonce = 0
        self.sent: list[str] = []
        self.raws: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        client = httpx.Client(timeout=5)
        k = 0
        last_check = time.monotonic()
        while not self._halt.wait(self.interval):
            alive = self.consortium.alive()
            if not alive:
                continue
            node = alive[k % len(alive)]
            k += 1
            raw = sign_transfer(self.account, self.nonce, self.consortium.chain_id)
            try:
                reply = _post(client, node, "eth_sendRawTransaction", [raw])
                if "result" in reply:
                    self.sent.append(reply["result"])
                    self.raws.append(raw)
                    self.nonce += 1
                if time.monotonic() - last_check > 1:
                    last_check = time.monotonic()
                    self._resubmit(client, node)
            except httpx.HTTPError:
                continue

    def _resubmit(self, client: httpx.Client, node: NodeProcess) -> None:
        reply = _post(client, node, "eth_getTransactionCount", [self.account.address, "latest"])
        mined = int(reply["result"], 16)
        for raw in self.raws[mined : mined + 20]:
            _post(client, node, "eth_sendRawTransaction", [raw])

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
