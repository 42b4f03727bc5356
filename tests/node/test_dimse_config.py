"""The DICOM listener's settings: written by ``medledger node init``, validated on load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import pytest
from pydantic import ValidationError
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from typer.testing import CliRunner

from medledger.cli import app
from node.config import DicomPeer, DimseSettings, load_config
from node.dimse.ingest import StandardIngest
from node.dimse.server import DimseListener

ZERO = "0x" + "00" * 20


def _init(tmp_path: Path, *args: str) -> tuple[int, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    contracts = tmp_path / "contracts.json"
    contracts.write_text(json.dumps({k: ZERO for k in ("Consortium", "Anchors", "Referrals",
                                                       "Grants")}))  # fmt: skip
    out = tmp_path / "node"
    result = CliRunner().invoke(app, ["node", "init", "--out", str(out), "--contracts",
                                      str(contracts), *args])  # fmt: skip
    return result.exit_code, result.output


def test_node_init_writes_the_listener_with_its_peers(tmp_path: Path) -> None:
    code, out = _init(tmp_path, "--dicom-port", "11200", "--dicom-aet", "COUNTY",
                      "--dicom-peer", "PACS@10.0.0.5", "--dicom-peer", "CT 1@10.0.0.6")  # fmt: skip
    assert code == 0, out
    dimse = load_config(tmp_path / "node" / "node.json").settings.dimse
    assert dimse.enabled and dimse.port == 11200 and dimse.aet == "COUNTY"
    assert dimse.peers == (DicomPeer(aet="PACS", host="10.0.0.5"),
                           DicomPeer(aet="CT 1", host="10.0.0.6"))  # fmt: skip


def test_without_a_dicom_port_the_listener_is_off_and_a_bad_peer_is_refused(
    tmp_path: Path,
) -> None:
    code, out = _init(tmp_path)
    assert code == 0, out
    assert not load_config(tmp_path / "node" / "node.json").settings.dimse.enabled
    code, out = _init(tmp_path / "again", "--dicom-port", "11200", "--dicom-peer", "no-host")
    assert code == 2 and "AET@HOST" in out


@pytest.mark.parametrize("aet", ["", "SEVENTEEN-LETTERS", "   ", "TAB\tHERE"])
def test_an_invalid_ae_title_is_refused(aet: str) -> None:
    with pytest.raises(ValidationError):
        DimseSettings(aet=aet)
    with pytest.raises(ValidationError):
        DicomPeer(aet=aet)


def test_a_pdu_limit_below_the_standard_minimum_is_refused() -> None:
    with pytest.raises(ValidationError):
        DimseSettings(max_pdu_bytes=1024)


def test_a_listener_with_no_peer_configured_starts_and_refuses_everybody(tmp_path: Path) -> None:
    """What ``consortium init`` writes (listener on, no peer yet): it must start and reject.

    The ingest behind it is never reached (no association gets that far), so none is built.
    """
    listener = DimseListener(DimseSettings(enabled=True, port=0, aet="NODE"),
                             ingest=cast(StandardIngest, None), spool_root=tmp_path)  # fmt: skip
    listener.start()
    try:
        ae = AE(ae_title="ANYONE")
        ae.add_requested_context(Verification)
        assoc = ae.associate("127.0.0.1", listener.port, ae_title="NODE")
        assert assoc.is_rejected
        rj = assoc.acceptor.primitive
        assert rj is not None and (rj.result, rj.result_source, rj.diagnostic) == (1, 1, 3)
    finally:
        listener.stop()
