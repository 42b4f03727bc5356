"""Two ``medledger node run`` processes (village clinic, county hospital) on a real chain.

Everything goes through the shipped entry points: records in over the node API, then
``medledger node case-add/refer/accept/grant/grants`` as subprocesses; the county node's
background follower (started by ``node run``) replicates the case. Then the village node is
killed and its blob store deleted, and the county's own copies still decrypt.

The same two processes take the attacks on the peer route (``POST /deliveries``: unsigned,
wrongly signed, replayed with another package, stale) and show the county's inbox.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3

from contracts.deploy import Deployment, FoundingMember, connect, deploy_suite
from contracts.typing import Tier
from keys.delivery import GrantDelivery
from keys.keystore import Keystore
from keys.signing import SigningKey
from keys.tokens import TokenIssuer
from node.blobstore.embedded import EmbeddedBlobStore
from node.cases.ids import parse_record_id
from node.cases.package import MAX_PACKAGE_BYTES
from node.cases.read.document import document_bytes, granted_key
from node.cases.sealed import open_package
from node.cli.cases import TOKEN_ENV
from tests.contracts.backends import free_port
from tests.devchain import CHAIN_ID, validator_address_of
from tests.integration.cases_world import chain_for, fhir_observation
from tests.integration.node_service_proc import (
    NodeServiceProcess,
    node_env,
)
from tests.integration.nodeproc import PASSPHRASE
from tests.node.chain_env import API_TOKEN, new_hospital_keystore, write_node_config

pytestmark = pytest.mark.timeout(300)


def _cli(node: NodeServiceProcess, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "medledger", "node", *args, "--api", node.url, "--json"],
        capture_output=True, text=True, env={**node_env(), TOKEN_ENV: API_TOKEN}, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@contextlib.contextmanager
def village_and_county(
    root: Path,
    *,
    seed: str,
    senders: Sequence[str] = (),
    before_launch: Callable[[Web3, Deployment, dict[str, Keystore]], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """A village clinic and a county hospital, each a real ``medledger node run`` process.

    One dev chain (``senders`` may send too), the suite deployed with both as founders,
    ``before_launch`` run once deployed (e.g. to register staff), then both nodes started
    at once and waited for. Yields root, procs, public keys, RPC URL, deployment and w3.
    """
    stores = {n: new_hospital_keystore(root / n / "keystore") for n in ("village", "county")}
    ports = {n: free_port() for n in stores}
    public = {n: s.export_public() for n, s in stores.items()}
    deployer = Account.from_key(keccak(text=seed))
    addresses = [deployer.address, *senders, *(p["signing_address"] for p in public.values())]
    with chain_for(addresses) as url:
        founders = [
            FoundingMember(account=public[n]["signing_address"], name=n, tier=tier,
                           encryption_key=bytes.fromhex(public[n]["encryption"]["public_key"][2:]),
                           validator_address=validator_address_of(public[n]["signing_address"]),
                           endpoint=f"http://127.0.0.1:{ports[n]}", validator=False)
            for n, tier in (("village", Tier.VILLAGE_CLINIC), ("county", Tier.COUNTY_HOSPITAL))
        ]  # fmt: skip
        w3 = connect(url)
        deployment = deploy_suite(w3, deployer=deployer, founders=founders)
        if before_launch is not None:
            before_launch(w3, deployment, stores)
        configs = {n: write_node_config(root, rpc_url=url, deployment=deployment.as_dict(), name=n)
                   for n in stores}  # fmt: skip
        launched: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for n in stores:  # both start at once; then wait for each
                launched[n] = launch(configs[n], ports[n])
            procs = {n: wait_healthy(p, configs[n], ports[n]) for n, p in launched.items()}
            yield {"root": root, "procs": procs, "public": public, "url": url,
                   "deployment": deployment, "w3": w3}  # fmt: skip
        finally:
            for proc in launched.values():
                if proc.poll() is None:
                    proc.terminate()
                proc.wait(30)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("case-procs")
    with village_and_county(root, seed="case-procs-deployer") as world:
        yield {**world, "deployment": world["deployment"].as_dict()}


def launch(config: Path, port: int) -> subprocess.Popen[bytes]:
    """``medledger node run`` on a fixed port (the one published in ``Consortium``)."""
    log_path = config.parent / "node-service.log"
    with log_path.open("ab") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medledger", "node", "run", "--config", str(config),
             "--port", str(port)],
            stdout=handle, stderr=subprocess.STDOUT, env=node_env(),
        )  # fmt: skip
    return proc


def wait_healthy(proc: subprocess.Popen[bytes], config: Path, port: int) -> NodeServiceProcess:
    log_path = config.parent / "node-service.log"
    node = NodeServiceProcess(proc, log_path, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            if node.client().get("/health").status_code == 200:
                return node
        except Exception:
            pass
        time.sleep(0.1)
    proc.kill()
    raise TimeoutError(log_path.read_text())


# -- the peer route: signed deliveries and the grantee's inbox (issues 14 and 15) -----------
# These run before the test above kills the village node (pytest keeps file order).

#: A valid CID of other bytes: what an attacker holding a token would try to swap in.
OTHER_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def _granted(nodes: dict[str, Any], *, reason: int = 0) -> dict[str, Any]:
    """A fresh case of one record, referred, accepted and granted (delivered by the node)."""
    village, county = nodes["procs"]["village"], nodes["procs"]["county"]
    county_address = str(nodes["public"]["county"]["signing_address"])
    resp = village.client().post("/records/fhir", content=fhir_observation(5.0 + os.urandom(1)[0]),
                                 headers={"Content-Type": "application/fhir+json"})  # fmt: skip
    assert resp.status_code == 201, resp.text
    case = os.urandom(32).hex()
    _cli(village, "case-add", case, resp.json()["record_id"])
    ref = _cli(village, "refer", case, "--to", county_address, "--expires", "+1h",
               "--reason", str(reason))  # fmt: skip
    _cli(county, "accept", str(ref["referral_id"]))
    grant: dict[str, Any] = _cli(village, "grant", case, "--to", county_address,
                                 "--expires", "+30m", "--max-uses", "3")  # fmt: skip
    assert grant["delivered"] is True
    return {**grant, "case": case}


def _sent(nodes: dict[str, Any], grant_id: int) -> dict[str, Any]:
    """The signed delivery the village node sent (read from its own case store)."""
    db = sqlite3.connect(f"file:{nodes['root'] / 'village' / 'data' / 'cases.sqlite'}?mode=ro",
                         uri=True)  # fmt: skip
    try:
        token, cid, issued_at, sig = db.execute(
            "SELECT token, package_cid, issued_at, delivery_signature FROM grants "
            "WHERE grant_id = ?", (grant_id,),
        ).fetchone()  # fmt: skip
    finally:
        db.close()
    return {"token": token, "package_cid": cid, "issued_at": issued_at,
            "signature": "0x" + bytes(sig).hex()}  # fmt: skip


def _inbox_row(county: NodeServiceProcess, grant_id: int) -> dict[str, Any] | None:
    resp = county.client().get("/grants/inbox")
    assert resp.status_code == 200, resp.text
    return next((g for g in resp.json() if g["grant_id"] == grant_id), None)


def _grant_row(county: NodeServiceProcess, grant_id: int) -> dict[str, Any]:
    rows = county.client().get("/grants").json()
    return next(g for g in rows if g["grant_id"] == grant_id)


def _signed_by(key: SigningKey, deployment: dict[str, str], **fields: Any) -> dict[str, Any]:
    issuer = TokenIssuer(key, chain_id=CHAIN_ID, grants_contract=deployment["Grants"])
    sig = issuer.sign_delivery(GrantDelivery.of(**fields))
    return {**fields, "signature": "0x" + sig.hex()}


def test_upper_tier_inbox_lists_a_grant_issued_below_without_any_token_copied(
    nodes: dict[str, Any],
) -> None:
    county = nodes["procs"]["county"]
    started = time.time()
    grant = _granted(nodes, reason=42)
    row = _inbox_row(county, grant["grant_id"])  # delivered synchronously by `grant`
    assert row is not None, county.log_path.read_text()
    assert row["case_id"] == "0x" + grant["case"]
    assert row["referral_id"] == grant["referral_id"] and row["reason_code"] == 42
    assert row["grantor"] == nodes["public"]["village"]["signing_address"]
    assert row["grantor_name"] == "village"
    assert (row["max_uses"], row["uses_left"], row["physician"]) == (3, 3, None)
    assert row["revoked"] is False and started - 5 < row["delivered_at"] < time.time() + 5
    assert row["expires_at"] > time.time() + 25 * 60
    other = nodes["procs"]["village"].client().get("/grants/inbox")  # the grantor's is empty
    assert all(g["grant_id"] != grant["grant_id"] for g in other.json())
    assert httpx.get(county.url + "/grants/inbox").status_code == 401  # operator route


def test_a_delivery_needs_the_grantors_signature_and_a_replayed_token_changes_nothing(
    nodes: dict[str, Any],
) -> None:
    """Each attack against the county's peer route; the live grant must not move."""
    county = nodes["procs"]["county"]
    deployment: dict[str, str] = nodes["deployment"]
    grant = _granted(nodes)
    gid, token = grant["grant_id"], grant["token"]
    sent = _sent(nodes, gid)
    assert sent["package_cid"] == grant["package_cid"]
    deadline = time.monotonic() + 60  # the follower replicates it; then nothing may move
    while _grant_row(county, gid)["state"] != "replicated" and time.monotonic() < deadline:
        time.sleep(0.2)
    live, inbox = _grant_row(county, gid), _inbox_row(county, gid)
    assert live["state"] == "replicated", county.log_path.read_text()
    assert live["package_cid"] == grant["package_cid"] and inbox is not None
    village_key = Keystore.open(nodes["root"] / "village" / "keystore").load_signing_key(PASSPHRASE)
    stranger = SigningKey.generate()
    replay = {"token": token, "package_cid": OTHER_CID}
    attacks = {
        "unsigned, same package": ({"token": token, "package_cid": grant["package_cid"]},
                                   403, "unsigned_delivery"),
        "unsigned, other package": (replay, 403, "unsigned_delivery"),
        "grantor's signature moved to another package": (
            {**sent, "package_cid": OTHER_CID}, 403, "delivery_signature_invalid"),
        "signed by a stranger": (
            _signed_by(stranger, deployment, **replay, issued_at=sent["issued_at"] + 10),
            403, "delivery_signature_invalid"),
        "signature is not hex": ({**sent, "signature": "0x" + "zz" * 65}, 403,
                                 "delivery_signature_invalid"),
        "grantor-signed but stale": (
            _signed_by(village_key, deployment, **replay, issued_at=sent["issued_at"] - 1),
            409, "stale_delivery"),
        "grantor-signed, same issuedAt, other package": (
            _signed_by(village_key, deployment, **replay, issued_at=sent["issued_at"]),
            409, "stale_delivery"),
        "grantor-signed, dated far in the future": (
            _signed_by(village_key, deployment, **replay, issued_at=int(time.time()) + 86_400),
            403, "delivery_signature_invalid"),
    }  # fmt: skip
    for name, (body, status, code) in attacks.items():
        resp = county.client().post("/deliveries", json=body)
        assert (resp.status_code, resp.json().get("error")) == (status, code), (name, resp.text)
        assert OTHER_CID not in resp.text  # the error does not echo the submitted input
        assert _grant_row(county, gid) == live, name
        assert _inbox_row(county, gid) == inbox, name
    # the grantor's own delivery, sent again, is idempotent
    again = county.client().post("/deliveries", json=sent)
    assert again.status_code == 200 and again.json() == {"grant_id": gid, "accepted": True,
                                                         "new": False}  # fmt: skip
    assert _grant_row(county, gid) == live and _inbox_row(county, gid) == inbox


def test_case_granted_between_node_processes_survives_the_grantor_going_away(
    nodes: dict[str, Any],
) -> None:
    procs: dict[str, NodeServiceProcess] = nodes["procs"]
    public: dict[str, dict[str, object]] = nodes["public"]
    root: Path = nodes["root"]
    village, county = procs["village"], procs["county"]
    county_address = str(public["county"]["signing_address"])
    raws = [fhir_observation(11.0 + i) for i in range(2)]
    record_ids = []
    for raw in raws:
        resp = village.client().post("/records/fhir", content=raw,
                                     headers={"Content-Type": "application/fhir+json"})  # fmt: skip
        assert resp.status_code == 201, resp.text
        record_ids.append(resp.json()["record_id"])
    case = os.urandom(32).hex()
    assert _cli(village, "case-add", case, *record_ids)["added"] == 2
    ref = _cli(village, "refer", case, "--to", county_address, "--expires", "+1h")
    _cli(county, "accept", str(ref["referral_id"]))
    grant = _cli(village, "grant", case, "--to", county_address, "--expires", "+30m",
                 "--max-uses", "3")  # fmt: skip
    assert grant["delivered"] is True
    grant_id = grant["grant_id"]

    deadline = time.monotonic() + 60  # the follower thread polls every second
    state = None
    while time.monotonic() < deadline and state != "replicated":
        rows = county.client().get("/grants").json()
        state = next((g["state"] for g in rows if g["grant_id"] == grant_id), None)
        time.sleep(0.2)
    assert state == "replicated", county.log_path.read_text()

    village.kill9()
    shutil.rmtree(root / "village" / "blobs")
    keyring = Keystore.open(root / "county" / "keystore").load_keyring(PASSPHRASE)
    blobs = EmbeddedBlobStore(root / "county" / "blobs", durable=False)
    blob = b"".join(blobs.get(grant["package_cid"]))
    assert len(blob) < MAX_PACKAGE_BYTES
    package = open_package(blob, keyring, grant_id=int(grant_id))
    assert sorted(r.record_id.hex() for r in package.records) == sorted(record_ids)
    for record in package.records:
        # the reader's own steps (unwrap, decrypt, re-hash), from the county's copies alone
        plain = document_bytes(record, dek=granted_key(keyring, record), blobs=blobs)
        assert hashlib.sha256(plain).digest() == record.content_hash
        assert json.loads(plain)["resourceType"] == "Observation"
    assert parse_record_id(record_ids[0])
