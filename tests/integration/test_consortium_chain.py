"""A consortium from ``consortium init`` on a real chain: the demo's ledger process (launched
from the process table), ``consortium deploy`` and the admission vote of ``add-member``.

Four validators, one per hospital, each a real ``medledger ledger run`` process on loopback
(BFT over p2p); the CLI commands run in-process against them.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

from contracts.deploy import connect, contract_at
from contracts.tx import send
from contracts.typing import MemberStatus, Tier
from ledger.cli.keystore import read_keystore
from medledger.consortium.chain import unlock
from medledger.consortium.local import LocalConsortium
from medledger.consortium.manifest import Manifest, load_manifest
from medledger.consortium.staff import licence_hash
from medledger.healthcheck import check
from medledger.processes import log_path, process
from tests.integration.bft_cluster import free_port_block
from tests.medledger.conftest import FAST_KDF, PASSPHRASE, run_cli

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalConsortium]:
    """Four hospitals, four validators: every ledger started from the process table."""
    out = tmp_path_factory.mktemp("chain") / "c"
    code, _, err = run_cli(
        [
            "consortium",
            "init",
            "--hospitals",
            "4",
            "--out",
            str(out),
            "--fast-consensus",
            "--base-port",
            str(free_port_block(60)),  # 4 hospitals and the one add-member admits
            *FAST_KDF,
        ]
    )
    assert code == 0, err
    with LocalConsortium(out, passphrase=PASSPHRASE) as local:
        local.start(process("ledger"))
        yield local


@pytest.fixture
def consortium(running: LocalConsortium) -> Path:
    return running.directory


def test_deploy_installs_every_founder_at_the_configured_addresses(consortium: Path) -> None:
    code, out, err = run_cli(["consortium", "deploy", "--dir", str(consortium), "--json"])
    assert code == 0, err
    result = json.loads(out)
    manifest = load_manifest(consortium)
    assert result["contracts"] == manifest.contracts
    w3 = connect(manifest.hospitals[0].rpc_url)
    contract = contract_at(w3, "Consortium", manifest.contracts["consortium"])
    tiers = [Tier(contract.functions.tierOf(h.signing_address).call()) for h in manifest.hospitals]
    assert tiers == [
        Tier.VILLAGE_CLINIC,
        Tier.TOWNSHIP_HEALTH_CENTRE,
        Tier.COUNTY_HOSPITAL,
        Tier.TERTIARY_HOSPITAL,
    ]
    assert contract.functions.validators().call() == [
        h.validator_address for h in manifest.hospitals
    ]
    _sealed_by_validator_keys_only(w3, manifest)
    endpoints = [
        contract.functions.getMember(h.signing_address).call()[5] for h in manifest.hospitals
    ]
    assert endpoints == [h.node_url for h in manifest.hospitals]  # where peers deliver grants
    other = connect(manifest.hospitals[3].rpc_url)  # the tertiary hospital's own ledger
    height = w3.eth.block_number
    for _ in range(100):  # bounded: each validator applies a decided block on its own
        if other.eth.block_number >= height:
            break
        time.sleep(0.1)
    assert other.eth.get_code(manifest.contracts["consortium"]) == w3.eth.get_code(
        manifest.contracts["consortium"]
    )
    assert result["operators_registered"] == [h.slug for h in manifest.hospitals]
    for h in manifest.hospitals:  # each gateway's operator, registered by its own hospital
        assert contract.functions.isActiveOperator(h.signing_address, h.operator_address).call()
    again_code, again, _ = run_cli(["consortium", "deploy", "--dir", str(consortium), "--json"])
    assert again_code == 0
    assert json.loads(again)["deployed"] is False
    assert json.loads(again)["operators_registered"] == []


def _sealed_by_validator_keys_only(w3: Web3, manifest: Manifest) -> None:
    """The 4 validators seal blocks with their validator keys, never with member accounts."""
    accounts = {h.signing_address.lower() for h in manifest.hospitals}
    keys = {h.validator_address.lower() for h in manifest.hospitals}
    assert len(keys) == 4 and not keys & accounts
    number = w3.eth.block_number
    assert number >= 1
    block = w3.eth.get_block(number)
    assert str(block["miner"]).lower() in keys  # the proposer's coinbase
    commit = w3.provider.make_request(RPCEndpoint("medledger_getCommit"), [hex(number)])["result"]
    sealers = {seal["validator"].lower() for seal in commit["seals"]}
    assert len(sealers) >= 3 and sealers <= keys  # a 2f+1 quorum of validator keys


def test_add_member_walks_the_vote_until_three_of_four_approve(consortium: Path) -> None:
    run_cli(["consortium", "deploy", "--dir", str(consortium)])
    code, out, err = run_cli(
        [
            "consortium",
            "add-member",
            "--dir",
            str(consortium),
            "--tier",
            "county",
            "--name",
            "Second County Hospital",
            "--json",
            *FAST_KDF,
        ]
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["required"] == 3  # ceil(4 * 67%)
    assert [v["yes"] for v in result["votes"]] == [1, 2, 3]
    assert result["executed"] is True
    assert result["member_status"] == "active"
    manifest = load_manifest(consortium)
    admitted = manifest.hospitals[-1]
    assert admitted.slug == "county-hospital-2"
    assert admitted.status == "admitted"
    assert (consortium / admitted.slug / "keystore" / "keystore.json").exists()
    w3 = connect(manifest.hospitals[0].rpc_url)
    contract = contract_at(w3, "Consortium", manifest.contracts["consortium"])
    assert MemberStatus(contract.functions.statusOf(admitted.signing_address).call()) is (
        MemberStatus.ACTIVE
    )
    member = contract.functions.getMember(admitted.signing_address).call()
    assert member[0] == "Second County Hospital"
    # its own validator key, written by add-member next to its keystore, is registered
    assert (consortium / admitted.slug / "validator" / "validator.json").exists()
    assert member[7] == admitted.validator_address != admitted.signing_address
    assert contract.functions.validatorOwner(admitted.validator_address).call() == (
        admitted.signing_address
    )


def test_node_process_from_the_table_runs_on_the_written_config(
    running: LocalConsortium,
) -> None:
    """``node run`` as the demo and compose start it, on ``init``'s node.json, is healthy."""
    run_cli(["consortium", "deploy", "--dir", str(running.directory)])
    village = running.manifest.hospitals[0]
    node = process("node")
    running.start(node, only=[village.slug])
    answer = httpx.get(node.health_url(village.ports), timeout=5).json()
    assert answer == {"status": "ok", "anchoring_error": None}


def test_add_member_without_a_chain_fails_clearly(tmp_path: Path) -> None:
    out = tmp_path / "c"
    code, _, err = run_cli(
        [
            "consortium",
            "init",
            "--hospitals",
            "1",
            "--out",
            str(out),
            "--base-port",
            str(_free_port()),
            *FAST_KDF,
        ]
    )
    assert code == 0, err
    code, _, err = run_cli(["consortium", "add-member", "--dir", str(out), "--tier", "county"])
    assert code == 4
    assert "no chain answers" in err
    assert len(load_manifest(out).hospitals) == 1  # nothing half-written


def test_hot_backup_restored_in_place_rejoins_the_consortium(
    running: LocalConsortium, tmp_path: Path
) -> None:
    """Back up a running validator, stop it, restore the copy in place, start it from the
    process table: it resumes at the backed-up height and the consortium still commits."""
    consortium = running.directory
    run_cli(["consortium", "deploy", "--dir", str(consortium)])
    village = running.manifest.hospitals[0]
    home = consortium / village.slug
    height_before = connect(village.rpc_url).eth.block_number
    code, out, err = run_cli(
        ["consortium", "backup", str(home), "--to", str(tmp_path / "b"), "--json"]
    )
    assert code == 0, err
    assert json.loads(out)["chain"] is True
    running.stop(village.slug)
    home.rename(tmp_path / "damaged")
    (tmp_path / "b").rename(home)
    running.start(process("ledger"), only=[village.slug])
    assert connect(village.rpc_url).eth.block_number >= height_before
    code, out, err = run_cli(
        [
            "consortium",
            "add-member",
            "--dir",
            str(consortium),
            "--tier",
            "township",
            "--json",
            *FAST_KDF,
        ]
    )
    assert code == 0, err
    assert json.loads(out)["executed"] is True


def test_a_member_rotates_its_validator_key_and_its_restarted_ledger_seals_with_it(
    running: LocalConsortium,
) -> None:
    """``rotate-validator-key``: the member account signs, no vote; the old key is out."""
    consortium = running.directory
    run_cli(["consortium", "deploy", "--dir", str(consortium)])
    tertiary = running.manifest.hospitals[3]
    old = tertiary.validator_address
    code, out, err = run_cli(
        ["consortium", "rotate-validator-key", "--dir", str(consortium), "--member",
         tertiary.slug, "--json", *FAST_KDF]
    )  # fmt: skip
    assert code == 0, err
    new = json.loads(out)["validator_address"]
    assert new not in (old, tertiary.signing_address)
    manifest = load_manifest(consortium)
    assert manifest.hospital(tertiary.slug).validator_address == new
    key = read_keystore(consortium / tertiary.slug / "validator" / "validator.json", PASSPHRASE)
    assert Account.from_key(key).address == new
    assert not (consortium / tertiary.slug / "validator" / "next.json").exists()
    for h in manifest.hospitals[:4]:  # every validator's configured peers name the new key
        peers = json.loads((consortium / h.slug / "ledger.json").read_text())["p2p"]["peers"]
        assert new in {p["address"] for p in peers} and old not in {p["address"] for p in peers}
    w3 = connect(manifest.hospitals[0].rpc_url)
    contract = contract_at(w3, "Consortium", manifest.contracts["consortium"])
    validators = contract.functions.validators().call()
    assert new in validators and old not in validators

    running.manifest = manifest
    running.stop(tertiary.slug)
    running.start(process("ledger"), only=[tertiary.slug])  # now on the new key
    village = manifest.hospitals[0]
    account = unlock(consortium, village, PASSPHRASE)
    village_contract = contract_at(w3, "Consortium", manifest.contracts["consortium"])
    sealers: set[str] = set()
    for _ in range(20):  # bounded: a few blocks until the restarted ledger's seal lands
        receipt = send(w3, account, village_contract.functions.setEndpoint(village.node_url))
        number = hex(int(receipt["blockNumber"]))
        commit = w3.provider.make_request(RPCEndpoint("medledger_getCommit"), [number])["result"]
        sealers = {seal["validator"].lower() for seal in commit["seals"]}
        if new.lower() in sealers:
            break
    assert new.lower() in sealers and old.lower() not in sealers


def test_up_starts_ledgers_contracts_nodes_and_gateways(
    tmp_path: Path,
) -> None:
    out = tmp_path / "c"
    code, _, err = run_cli(
        [
            "consortium",
            "init",
            "--hospitals",
            "2",
            "--validators",
            "1",
            "--out",
            str(out),
            "--base-port",
            str(_free_port()),
            *FAST_KDF,
        ]
    )
    assert code == 0, err
    code, stdout, err = run_cli(
        ["consortium", "up", "--dir", str(out), "--exit-when-ready", "--json"]
    )
    assert code == 0, err
    result = json.loads(stdout)
    # only the validator runs a ledger; the other hospital's node uses the validator's RPC
    assert [(r["hospital"], r["process"]) for r in result["ready"]] == [
        ("village-clinic", "ledger"),
        ("village-clinic", "node"),
        ("township-health-centre", "node"),
        ("village-clinic", "gateway"),
        ("township-health-centre", "gateway"),
    ]
    assert result["not_available"] == []
    # everything was stopped on the way out; the ledger wrote its log where launch() said
    assert check("jsonrpc", result["ready"][0]["url"]) is not None
    slug = load_manifest(out).hospitals[0].slug
    assert log_path(out / slug, process("ledger")).stat().st_size > 0


def test_a_hospital_registers_suspends_and_reinstates_its_own_staff(consortium: Path) -> None:
    """``consortium staff``: the village clinic manages its staff; the county cannot."""
    run_cli(["consortium", "deploy", "--dir", str(consortium)])
    village = ["--dir", str(consortium), "--hospital", "village-clinic", "--json"]
    county = ["--dir", str(consortium), "--hospital", "county-hospital", "--json"]
    operator, physician = Account.create().address, Account.create().address
    code, out, err = run_cli(["consortium", "staff", "register", operator, "--role", "operator",
                              *village])  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["role"] == "operator"
    assert json.loads(out)["status"] == "active"
    code, _, err = run_cli(["consortium", "staff", "register", physician, "--role", "physician",
                            *village])  # fmt: skip
    assert code == 2
    assert "needs --licence" in err
    code, out, err = run_cli(["consortium", "staff", "register", physician, "--role", "physician",
                              "--licence", "GP-12345", *village])  # fmt: skip
    assert code == 0, err
    registered = json.loads(out)
    salt = bytes.fromhex(registered["salt"][2:])
    assert registered["licence_hash"] == "0x" + licence_hash("GP-12345", salt=salt)[0].hex()
    assert "GP-12345" not in out  # only the salted hash is shown or sent
    code, out, err = run_cli(["consortium", "staff", "suspend", physician, *village])
    assert code == 0, err
    assert json.loads(out)["status"] == "suspended"
    code, _, err = run_cli(["consortium", "staff", "suspend", physician, *village])
    assert code == 4
    assert "UnexpectedStaffStatus" in err
    code, _, err = run_cli(["consortium", "staff", "reinstate", physician, *county])
    assert code == 4
    assert "NotYourStaff" in err
    code, out, err = run_cli(["consortium", "staff", "reinstate", physician, *village])
    assert code == 0, err
    code, out, err = run_cli(["consortium", "staff", "list", *village])
    assert code == 0, err
    listed = {r["account"]: (r["role"], r["status"]) for r in json.loads(out)["staff"]}
    assert listed[operator] == ("operator", "active")
    assert listed[physician] == ("physician", "active")
    code, out, _ = run_cli(["consortium", "staff", "list", *county])
    assert operator not in {r["account"] for r in json.loads(out)["staff"]}
