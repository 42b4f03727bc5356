"""Two real validators with a recording, tampering TCP proxy on one p2p link.

``ledger init --validators 2`` (both validators are needed for every decision, so a broken
link stops the chain until it is redialed); node 0 dials node 1 through
:class:`tests.integration.wire_proxy.WireProxy`. What crosses that link is what any
observer of the network sees; the proxy also flips a byte in flight, and the test replays a
recorded session and plays impostors and a v1 (clear protocol) peer against node 1. Nothing
is mocked: real ``medledger ledger run`` processes, real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import rlp

from ledger.p2p import codec
from ledger.p2p.exceptions import HandshakeRefused
from ledger.p2p.framing import Kind, pack_raw
from ledger.p2p.handshake import initiate
from ledger.p2p.hello import HELLO_TAG_V1
from ledger.p2p.keys import NodeKey
from ledger.typing import Address
from tests.integration.bft_cluster import (
    Consortium,
    free_ports,
    head,
    sign_transfer,
    wait_until,
)
from tests.integration.nodeproc import NodeProcess
from tests.integration.wire_proxy import WireProxy

pytestmark = pytest.mark.integration


def _receipt(node: NodeProcess, tx_hash: str) -> Any:
    return node.rpc("eth_getTransactionReceipt", [tx_hash]).get("result")


def _commit(
    nodes: list[NodeProcess], account: Any, nonce: int, chain_id: int, data: bytes
) -> tuple[bytes, bytes]:
    """Submit a transfer carrying ``data`` to node 0; its raw bytes and its block's hash."""
    raw = sign_transfer(account, nonce, chain_id, data)
    tx_hash = nodes[0].rpc("eth_sendRawTransaction", [raw])["result"]
    wait_until(
        lambda: all(_receipt(n, tx_hash) is not None for n in nodes), 30, f"tx {nonce} on both"
    )
    return bytes.fromhex(raw[2:]), bytes.fromhex(_receipt(nodes[0], tx_hash)["blockHash"][2:])


def _raw_session(port: int, payload: bytes) -> bytes:
    """Send ``payload`` to ``port`` as one client; return all it answers until it hangs up."""
    answer = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # A listener that hangs up with our bytes unread resets the connection: that is
        # a hang-up too (what it said before is kept).
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            sock.sendall(payload)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer.extend(chunk)
    return bytes(answer)


async def _impostor_claiming(
    claimed: Address, port: int, responder: Address, chain_id: int
) -> bytes:
    """The real initiator with another key under ``claimed``'s address; what it reads after.

    It does everything right except hold the key: its hello names ``claimed``, it checks the
    responder's signature, signs the true transcript with its own key and sends a frame.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    impostor = NodeKey(os.urandom(32))
    impostor.address = claimed
    try:
        session = await initiate(
            reader, writer, key=impostor, chain_id=chain_id, expected=responder
        )
        writer.write(session.seal(Kind.STATUS, codec.encode_status(1)))
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def test_the_wire_shows_no_payload_and_tampering_replay_and_impostors_fail(
    tmp_path: Path,
) -> None:
    consortium = Consortium(tmp_path / "consortium", validators=2, accounts=1)
    config_path = consortium.directory / "node0" / "node.json"
    config = json.loads(config_path.read_text())
    node0 = bytes.fromhex(config["p2p"]["peers"][0]["address"][2:])
    node1_port = config["p2p"]["peers"][1]["port"]
    (proxy_port,) = free_ports(1)
    config["p2p"]["peers"][1]["port"] = proxy_port  # node 0 dials node 1 through the proxy
    config_path.write_text(json.dumps(config))
    # ... and node 1 announces the proxy, or node 0 would learn its real port from its hello.
    config1_path = consortium.directory / "node1" / "node.json"
    config1 = json.loads(config1_path.read_text())
    config1["p2p"]["advertise"] = f"127.0.0.1:{proxy_port}"
    config1_path.write_text(json.dumps(config1))
    account, chain_id = consortium.accounts[0], consortium.chain_id
    with WireProxy(proxy_port, node1_port) as proxy:
        try:
            nodes = [consortium.start(0), consortium.start(1)]

            # 1. A transaction with a known payload, gossiped 0 → 1 and decided by votes
            # that name its block: none of it crosses the link in clear.
            marker = b"PATIENT-MRN-0042-" + os.urandom(16)
            raw, block = _commit(nodes, account, 0, chain_id, marker)
            wire = bytes(proxy.connections[0].upstream)
            assert node0 in wire  # the recorder sees the link: the clear hello names node 0
            assert len(wire) > 4 * len(raw)  # hello, the transaction, votes, statuses
            for secret in (marker, raw, block):
                assert secret not in wire
                assert secret not in proxy.connections[0].downstream

            # 2. One byte flipped in flight: the link is closed, redialed, consensus goes on.
            proxy.flip_next()
            wait_until(lambda: proxy.flipped_at is not None, 10, "a byte flipped")
            wait_until(
                lambda: (
                    f"dropping link from 0x{node0.hex()}: frame failed authentication"
                    in nodes[1].log()
                ),
                10,
                "node 1 to drop the tampered link",
            )
            wait_until(lambda: len(proxy.connections) >= 2, 15, "node 0 to redial")
            _, block2 = _commit(nodes, account, 1, chain_id, b"after-tamper")
            assert block2 not in proxy.connections[1].upstream

            # 3. The recorded session replayed to node 1: its fresh nonce and ephemeral key
            # are not in the old signature, so the finish is refused and nothing is opened.
            recorded = proxy.connections[0]
            answer = _raw_session(node1_port, bytes(recorded.upstream))
            assert answer and not bytes(recorded.downstream).startswith(answer)
            wait_until(
                lambda: (
                    "refused an incoming link: the peer did not prove its key" in nodes[1].log()
                ),
                10,
                "node 1 to refuse the replay",
            )

            # 4. Impostors: an unknown key, and one claiming node 0's address.
            node1 = Address(bytes.fromhex(config["p2p"]["peers"][1]["address"][2:]))
            with pytest.raises(HandshakeRefused, match="hung up at our hello"):
                asyncio.run(_unknown_key(node1_port, chain_id, node1))
            assert "refused an incoming link: unknown peer key" in nodes[1].log()
            refused = nodes[1].log().count("the peer did not prove its key")
            after = asyncio.run(_impostor_claiming(Address(node0), node1_port, node1, chain_id))
            assert after == b""  # its frame was never answered: the link was closed
            wait_until(
                lambda: nodes[1].log().count("the peer did not prove its key") > refused,
                10,
                "node 1 to refuse the impostor",
            )

            # 5. A peer of the clear v1 protocol: refused with a line that says so.
            v1_hello = rlp.encode([HELLO_TAG_V1, chain_id, os.urandom(32), node0, b""])
            assert _raw_session(node1_port, pack_raw(v1_hello)) == b""
            wait_until(
                lambda: (
                    "refused an incoming link: the peer speaks the clear p2p protocol v1"
                    in nodes[1].log()
                ),
                10,
                "node 1 to name the v1 peer",
            )

            # Through all of it the chain went on, and both nodes agree.
            _commit(nodes, account, 2, chain_id, b"after-attacks")
            top = min(head(n) for n in nodes)
            assert nodes[0].rpc("eth_getBlockByNumber", [hex(top), False]) == nodes[1].rpc(
                "eth_getBlockByNumber", [hex(top), False]
            )
        finally:
            consortium.stop_all()


async def _unknown_key(port: int, chain_id: int, expected: Address) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await initiate(
            reader, writer, key=NodeKey(os.urandom(32)), chain_id=chain_id, expected=expected
        )
    finally:
        writer.close()
