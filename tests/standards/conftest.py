"""One node of ours for every standards test module: the chain start is the costly part."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.standards.ledger_node import LedgerNode, ledger_node
from tests.standards.orthanc import have_orthanc

PACS_AET = "PACS1"
ORTHANC_AET = "ORTHANC"
ELSEWHERE_AET = "FARAWAY"  # allowed only from a host the tests never connect from
#: Small enough for a test to exceed cheaply, large enough for the test studies.
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_INSTANCE_BYTES = 1024 * 1024
#: Short, so the idle-connection test is cheap; pushes here never pause that long.
IDLE_TIMEOUT_S = 3.0


@pytest.fixture(scope="package")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerNode]:
    if not have_orthanc() or shutil.which("storescu") is None:
        pytest.skip("Debian's orthanc, orthanc-dicomweb and dcmtk are installed by make test")
    peers = [{"aet": PACS_AET, "host": "127.0.0.1"}, {"aet": ORTHANC_AET, "host": "127.0.0.1"},
             {"aet": ELSEWHERE_AET, "host": "10.255.255.1"}]  # fmt: skip
    with ledger_node(tmp_path_factory.mktemp("ledger"), peers=peers, max_associations=2,
                     max_dicom_bytes=MAX_BODY_BYTES,
                     max_instance_bytes=MAX_INSTANCE_BYTES,
                     idle_timeout_s=IDLE_TIMEOUT_S) as node:  # fmt: skip
        yield node
