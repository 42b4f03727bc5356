"""One chain (anvil, the reference engine) and one story for the audit tests of this module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.deploy import Deployment
from gateway.audit.trail import ChainAuditTrail
from tests.contracts.backends import Chain, anvil_chain
from tests.contracts.world import build_world
from tests.gateway.audit.story import Story, play


@pytest.fixture(scope="session")
def anvil() -> Iterator[Chain]:
    try:
        with anvil_chain() as chain:
            yield chain
    except RuntimeError as exc:
        pytest.fail(f"anvil could not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def story(anvil: Chain, tmp_path_factory: pytest.TempPathFactory) -> Story:
    return play(build_world(anvil), Path(tmp_path_factory.mktemp("blobs")))


@pytest.fixture
def trail(story: Story) -> ChainAuditTrail:
    deployment: Deployment = story.world.deployment
    return ChainAuditTrail(story.world.w3, deployment, blobs=story.blobs)
