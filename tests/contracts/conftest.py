"""Fixtures: each contract test runs on anvil and on our own chain (``medledger``).

Isolation: on anvil every test starts from a snapshot of one deployed world and reverts to
it afterwards. Our chain has no snapshots, and a deployment costs seconds there, so tests
that only add fresh records/referrals/grants share one world per module (``world``), and
tests that change membership or staff get a newly deployed one (``fresh_world``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contracts.backends import BACKENDS, Chain, rpc
from tests.contracts.world import World, build_world


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    try:
        ctx = BACKENDS[request.param]()
        started = ctx.__enter__()
    except RuntimeError as exc:
        pytest.fail(f"backend {request.param!r} could not start: {exc}", pytrace=False)
    try:
        yield started
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture(scope="session")
def base_world(chain: Chain) -> World:
    return build_world(chain)


@pytest.fixture(scope="module")
def module_world(chain: Chain) -> World:
    return build_world(chain)


def _snapshot_world(chain: Chain, base: World) -> Iterator[World]:
    snap = rpc(chain.rpc_url, "evm_snapshot", [])
    yield base
    assert rpc(chain.rpc_url, "evm_revert", [snap]) is True


@pytest.fixture
def world(chain: Chain, request: pytest.FixtureRequest) -> Iterator[World]:
    """A world for tests that leave membership and staff as they found them."""
    if chain.time_travel:
        yield from _snapshot_world(chain, request.getfixturevalue("base_world"))
    else:
        yield request.getfixturevalue("module_world")


@pytest.fixture
def fresh_world(chain: Chain, request: pytest.FixtureRequest) -> Iterator[World]:
    """A pristine world for tests that change membership, tiers or staff."""
    if chain.time_travel:
        yield from _snapshot_world(chain, request.getfixturevalue("base_world"))
    else:
        yield build_world(chain)
