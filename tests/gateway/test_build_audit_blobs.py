"""The real gateway's audit trail checks ciphertexts in the node's own blob store.

Found by ``tests/fuzz/test_gateway_openapi.py``: ``build_services`` gave the trail no blob
store, so every ``?check_ciphertext=true`` trace on a healthy chain answered 503
"chain_unavailable".
"""

from __future__ import annotations

from pathlib import Path

from gateway.audit.trail import ChainAuditTrail
from gateway.wiring.build import GatewaySources, build_services
from tests.gateway.conftest import make_settings
from tests.node.chain_env import PASSPHRASE, new_hospital_keystore, write_node_config

DEPLOYMENT = {"Consortium": "0x" + "01" * 20, "Anchors": "0x" + "02" * 20,
              "Referrals": "0x" + "03" * 20, "Grants": "0x" + "04" * 20}  # fmt: skip


def test_the_audit_trail_is_given_the_blob_store_the_records_are_read_from(
    tmp_path: Path,
) -> None:
    store = new_hospital_keystore(tmp_path / "node" / "keystore")
    # port 9 (discard) refuses: the chain is down, only the wiring is under test
    config = write_node_config(tmp_path, rpc_url="http://127.0.0.1:9", deployment=DEPLOYMENT)
    settings = make_settings(hospital=str(store.export_public()["signing_address"]),
                             grants_contract=DEPLOYMENT["Grants"])  # fmt: skip
    services = build_services(
        settings=settings, sources=GatewaySources(node_config=config, passphrase=PASSPHRASE)
    )
    assert isinstance(services.trail, ChainAuditTrail)
    assert services.trail.blobs is not None
