"""Fixtures: each contract test runs on anvil and on our own chain (``medledger``)."""

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


@pytest.fixture
def world(base_world: World, chain: Chain) -> Iterator[World]:
    """A pristine world per test: anvil reverts to a snapshot; our chain deploys anew."""
    if chain.time_travel:
        snap = rpc(chain.rpc_url, "evm_snapshot", [])
        yield base_world
        assert rpc(chain.rpc_url, "evm_revert", [snap]) is True
    else:
        yield build_world(chain)
