"""Break-glass between two ``medledger node run`` processes: nobody acts at the owner.

The village clinic's node process holds the case (records in over its API, attached by the
CLI beforehand, as the hospital's systems would). Then only the processes run: a county
physician calls ``Grants.breakGlass`` with their own key, the village node's background
follower applies its default policy (``allow-and-notify``), wraps the keys to the county
and delivers them signed; the county node's follower replicates. The test only watches
(read-only API calls), then decrypts and re-hashes from the county's copies alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3

from contracts.deploy import Deployment, contract_at
from contracts.tx import send
from keys.keystore import Keystore
from keys.typed_data import redemption_signable
from node.blobstore.embedded import EmbeddedBlobStore
from node.cases.breakglass import WHOLE_CASE
from node.cases.read.document import document_bytes, granted_key
from node.cases.sealed import open_package
from tests.devchain import CHAIN_ID
from tests.integration.cases_world import fhir_observation
from tests.integration.nodeproc import PASSPHRASE
from tests.integration.test_case_node_processes import _cli, village_and_county

pytestmark = pytest.mark.timeout(300)

DOCTOR = Account.from_key(keccak(text="break-glass procs county physician"))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    def register_doctor(w3: Web3, deployment: Deployment, stores: dict[str, Keystore]) -> None:
        county_key = stores["county"].load_signing_key(PASSPHRASE)
        consortium = contract_at(w3, "Consortium", deployment.consortium)
        send(w3, county_key.account,
             consortium.functions.registerStaff(DOCTOR.address, 1, keccak(text="lic")))  # fmt: skip

    root = tmp_path_factory.mktemp("bg-procs")
    with village_and_county(root, seed="bg-procs-deployer", senders=[DOCTOR.address],
                            before_launch=register_doctor) as world:  # fmt: skip
        yield {**world, "grants": contract_at(world["w3"], "Grants", world["deployment"].grants)}


def _wait(what: str, fn: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_owner_node_process_releases_a_break_glass_by_itself(nodes: dict[str, Any]) -> None:
    village, county = nodes["procs"]["village"], nodes["procs"]["county"]
    village_address = str(nodes["public"]["village"]["signing_address"])
    record_ids = []
    for i in range(2):
        resp = village.client().post("/records/fhir", content=fhir_observation(7.0 + i),
                                     headers={"Content-Type": "application/fhir+json"})  # fmt: skip
        assert resp.status_code == 201, resp.text
        record_ids.append(resp.json()["record_id"])
    case = os.urandom(32)
    assert _cli(village, "case-add", case.hex(), *record_ids)["added"] == 2
    # From here on only the processes act at the village.
    grants, w3 = nodes["grants"], nodes["w3"]
    receipt = send(w3, DOCTOR, grants.functions.breakGlass(case, village_address, WHOLE_CASE,
                                                           42, 900, 1))  # fmt: skip
    grant_id = int(grants.events.BreakGlassAccess().process_receipt(receipt)[0]["args"]["grantId"])

    def replicated() -> dict[str, Any] | None:
        rows = county.client().get("/grants").json()
        return next((g for g in rows if g["grant_id"] == grant_id
                     and g["state"] == "replicated"), None)  # fmt: skip

    row = _wait("the county replicating the released case", replicated)
    opening = next(r for r in village.client().get("/break-glass").json()
                   if r["grant_id"] == grant_id)  # fmt: skip
    assert (opening["decision"], opening["reviewed"]) == ("released", False)
    log = village.log_path.read_text()
    assert f"break-glass grant {grant_id}" in log and "review pending" in log
    assert "MRN-0001" not in log and "p-123" not in log  # no patient identifier logged
    # The physician's own signed opening, then the county's copies alone decrypt.
    nonce, deadline = os.urandom(32), int(time.time()) + 600
    signable = redemption_signable(chain_id=CHAIN_ID, grants_contract=grants.address,
                                   grant_id=grant_id, token_nonce=bytes(32), nonce=nonce,
                                   deadline=deadline)  # fmt: skip
    approval = (DOCTOR.address, nonce, deadline, bytes(DOCTOR.sign_message(signable).signature))
    send(w3, DOCTOR, grants.functions.redeemBreakGlass(grant_id, approval))
    root = nodes["root"]
    keyring = Keystore.open(root / "county" / "keystore").load_keyring(PASSPHRASE)
    blobs = EmbeddedBlobStore(root / "county" / "blobs", durable=False)
    package = open_package(b"".join(blobs.get(row["package_cid"])), keyring, grant_id=grant_id)
    assert sorted(r.record_id.hex() for r in package.records) == sorted(record_ids)
    for record in package.records:
        plain = document_bytes(record, dek=granted_key(keyring, record), blobs=blobs)
        assert hashlib.sha256(plain).digest() == record.content_hash
        assert json.loads(plain)["resourceType"] == "Observation"
    # Afterwards a person reviews it at the village, with the CLI; it is on chain.
    _cli(village, "break-glass", "review", str(grant_id), "--unjustified")
    assert tuple(grants.functions.getReview(grant_id).call()[0:2]) == (True, False)
