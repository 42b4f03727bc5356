"""uvicorn's real access log, written while a viewer searches by patient: no PHI in it."""

from __future__ import annotations

import logging

import pytest
import requests
from eth_account.signers.local import LocalAccount

from gateway.domain import PhysicianStatus
from tests.gateway.conftest import Gateway
from tests.gateway.server import serve

pytestmark = pytest.mark.integration


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_access_log_has_no_query_or_identifiers(gateway: Gateway, physician: LocalAccount) -> None:
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    handler = _Lines()
    logger = logging.getLogger("uvicorn.access")
    try:
        with serve(gateway.app, log_level="info") as base:
            logger.addHandler(handler)  # after uvicorn's dictConfig replaced the handlers
            headers = {"Authorization": f"Bearer {token}"}
            for path in [
                "/dicomweb/studies?PatientID=MRN-0042&PatientName=DOE%5EJANE",
                "/dicomweb/studies/1.2.840.99.1/series/1.2.840.99.2/metadata",
            ]:
                requests.get(base + path, headers=headers, timeout=10)
    finally:
        logger.removeHandler(handler)
    assert len(handler.lines) == 2, handler.lines
    text = "\n".join(handler.lines)
    assert "/dicomweb/studies?…" in text and "/dicomweb/studies/{id}/series/{id}/metadata" in text
    for secret in ["MRN-0042", "DOE", "1.2.840.99"]:
        assert secret not in text
