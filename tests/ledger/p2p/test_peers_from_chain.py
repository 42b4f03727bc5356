"""Peers that change while validators run: admitted keys are dialed back, removed ones dropped.

Real ``Transport`` objects on loopback TCP. ``allow`` is what a validator calls when the
chain's validator set changes (``BftNode._refresh_peers``); here the test calls it directly,
the chain side is covered by ``test_governance_bft`` and the integration test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from ledger.p2p.endpoints import BadEndpoint, dial_target, parse_endpoint
from ledger.p2p.framing import Kind
from ledger.p2p.keys import NodeKey
from ledger.p2p.peers import allowed_peers
from ledger.p2p.transport import Endpoint, Transport
from ledger.typing import Address
from tests.ledger.p2p.cluster import free_ports

OLD, NEW, STRANGER = (NodeKey(bytes([k]) * 32) for k in (0x61, 0x62, 0x63))
CHAIN = 4243


class Inbox:
    def __init__(self) -> None:
        self.frames: list[tuple[Address, Kind, bytes]] = []

    def __call__(self, peer: Address, kind: Kind, payload: bytes) -> None:
        self.frames.append((peer, kind, payload))


async def _until(predicate: Callable[[], bool], what: str) -> None:
    for _ in range(200):  # 10 s at most
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.asyncio
async def test_an_admitted_key_is_dialed_back_where_it_announced_and_dropped_on_removal() -> None:
    old_port, new_port, stranger_port = free_ports(3)
    old_inbox, new_inbox = Inbox(), Inbox()
    # The running validator knows nobody else: the newcomer is not in its configuration.
    old = Transport(key=OLD, chain_id=CHAIN, peers={}, handler=old_inbox)
    # The newcomer's configuration lists the running validator; it announces where it listens.
    new = Transport(
        key=NEW,
        chain_id=CHAIN,
        peers={OLD.address: Endpoint(OLD.address, "127.0.0.1", old_port)},
        handler=new_inbox,
        announce=f"0.0.0.0:{new_port}",  # a wildcard: dialed back at the connection's source
    )
    stranger = Transport(
        key=STRANGER,
        chain_id=CHAIN,
        peers={OLD.address: Endpoint(OLD.address, "127.0.0.1", old_port)},
        handler=Inbox(),
        announce=f"127.0.0.1:{stranger_port}",
    )
    await old.start("127.0.0.1", old_port)
    await new.start("127.0.0.1", new_port)
    await stranger.start("127.0.0.1", stranger_port)
    try:
        await asyncio.sleep(0.5)  # both keep dialing; neither is allowed yet
        assert new.connected == frozenset() and stranger.connected == frozenset()
        assert old.endpoint(NEW.address) is None  # a refused hello teaches nothing

        old.allow({NEW.address})  # the admission takes effect
        await _until(lambda: OLD.address in new.connected, "the newcomer's link to be accepted")
        await _until(lambda: NEW.address in old.connected, "the dial back to the newcomer")
        assert old.endpoint(NEW.address) == Endpoint(NEW.address, "127.0.0.1", new_port)
        assert old.send(NEW.address, Kind.STATUS, b"\x07")
        assert new.send(OLD.address, Kind.STATUS, b"\x08")
        await _until(lambda: bool(new_inbox.frames and old_inbox.frames), "a frame each way")
        assert new_inbox.frames[0] == (OLD.address, Kind.STATUS, b"\x07")
        assert old_inbox.frames[0] == (NEW.address, Kind.STATUS, b"\x08")
        assert stranger.connected == frozenset()  # an unknown key is still refused

        old.allow(set())  # the newcomer is removed
        await _until(lambda: OLD.address not in new.connected, "the newcomer's link to drop")
        assert NEW.address not in old.connected
        await asyncio.sleep(0.5)  # it redials: refused again
        assert OLD.address not in new.connected and NEW.address not in old.connected
        assert not old.send(NEW.address, Kind.STATUS, b"\x09")
    finally:
        for transport in (old, new, stranger):
            await transport.close()


def test_announced_endpoints_are_host_port_and_a_wildcard_means_the_connection_source() -> None:
    assert parse_endpoint("county-hospital-ledger:8556") == ("county-hospital-ledger", 8556)
    assert parse_endpoint("[::1]:30303") == ("::1", 30303)
    assert dial_target("0.0.0.0:9000", "10.0.0.7") == ("10.0.0.7", 9000)
    assert dial_target("10.1.1.1:9000", "10.0.0.7") == ("10.1.1.1", 9000)
    for bad in ("no-port", "host:0", "host:70000", "::1:80", "a b:80", "[nope]:80", "h:x"):
        with pytest.raises(BadEndpoint):
            parse_endpoint(bad)


V = [Address(bytes([i]) * 20) for i in range(1, 6)]


def test_the_chain_decides_who_links_and_unlisted_configured_peers_bootstrap() -> None:
    # genesis: v0..v2; v3 admitted from height 10; v2 flagged off from height 20
    history = [(1, V[:3]), (10, V[:4]), (20, [V[0], V[1], V[3]])]
    configured = {V[0], V[1], V[2], V[3], V[4]}  # v4: a bootstrap peer never listed
    # v3 is not listed yet at height 1: still a bootstrap peer, like v4
    assert allowed_peers(history=history, height=1, configured=configured) == set(V)
    assert allowed_peers(history=history, height=10, configured=()) == set(V[:4])
    # v2 was removed: dropped although configured; v4 never listed: still allowed
    assert allowed_peers(history=history, height=25, configured=configured) == {
        V[0],
        V[1],
        V[3],
        V[4],
    }
    assert allowed_peers(history=history, height=9, configured=()) == set(V[:3])
