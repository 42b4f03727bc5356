"""Real transports on loopback: an exhausted link is redialed, a bad host retried."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ledger.p2p.cipher import FrameCipher
from ledger.p2p.framing import Kind
from ledger.p2p.transport import Endpoint, Transport
from ledger.typing import Address
from tests.ledger.p2p.cluster import free_ports
from tests.ledger.p2p.test_links import CHAIN, A, B


@pytest.mark.asyncio
async def test_an_exhausted_link_is_closed_and_redialed_with_new_keys(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(FrameCipher, "LIMIT", 3)  # every link carries 3 frames per direction
    caplog.set_level(logging.INFO, logger="ledger.p2p.transport")
    port_a, port_b = free_ports(2)
    peers = {
        A.address: Endpoint(A.address, "127.0.0.1", port_a),
        B.address: Endpoint(B.address, "127.0.0.1", port_b),
    }
    received: list[bytes] = []
    sessions: list[bytes] = []

    def at_b(peer: Address, kind: Kind, payload: bytes) -> None:
        assert peer == A.address and kind is Kind.STATUS
        received.append(payload)

    a = Transport(key=A, chain_id=CHAIN, peers=peers, handler=lambda *_: None)
    b = Transport(key=B, chain_id=CHAIN, peers=peers, handler=at_b)
    await a.start("127.0.0.1", port_a)
    await b.start("127.0.0.1", port_b)
    try:
        for n in range(10):
            async with asyncio.timeout(10):
                while not a.send(B.address, Kind.STATUS, bytes([n])):
                    await asyncio.sleep(0.02)
            link = a._out.get(B.address)
            if link is not None and link[0].session_id not in sessions:
                sessions.append(link[0].session_id)
        async with asyncio.timeout(10):
            while len(received) < 10:
                await asyncio.sleep(0.02)
    finally:
        await a.close()
        await b.close()
    assert received == [bytes([n]) for n in range(10)]  # none lost, none reused a nonce
    assert len(sessions) >= 4  # 10 frames, 3 per link
    redials = [r for r in caplog.records if "sealed its last frame" in r.getMessage()]
    assert len(redials) >= 3


@pytest.mark.asyncio
async def test_a_peer_host_no_resolver_takes_is_retried_not_a_dead_dialer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``a..b`` made ``open_connection`` raise ``UnicodeError``, which ended the dial task."""
    (port_a,) = free_ports(1)
    peers = {B.address: Endpoint(B.address, "a..b", 30303)}
    a = Transport(key=A, chain_id=CHAIN, peers=peers, handler=lambda *_: None)
    await a.start("127.0.0.1", port_a)
    try:
        async with asyncio.timeout(10):
            while not any("cannot dial" in r.getMessage() for r in caplog.records):
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # at least one more attempt after the backoff
        assert not a._dialers[B.address].done()
    finally:
        await a.close()
    assert sum("cannot dial" in r.getMessage() for r in caplog.records) >= 2
