"""A consortium from ``consortium init`` on a real chain: the demo's ledger process (launched
from the process table), ``consortium deploy`` and the admission vote of ``add-member``.

Four validators, one per hospital, each a real ``medledger ledger run`` process on loopback
(BFT over p2p); the CLI commands run in-process against them.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contracts.deploy import connect, contract_at
from contracts.typing import MemberStatus, Tier
from medledger.consortium.manifest import load_manifest
from medledger.healthcheck import check
from medledger.processes import launch, process
from tests.medledger.conftest import FAST_KDF, PASSPHRASE, run_cli

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _wait_healthy(proc: subprocess.Popen[bytes], kind: str, url: str) -> None:
    for _ in range(300):  # bounded: 30 s
        if proc.poll() is not None or check(kind, url, timeout_s=1.0) is None:
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")
    assert check(kind, url) is None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class Running:
    out: Path
    procs: list[subprocess.Popen[bytes]]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
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
            "--base-port",
            str(_free_port()),
            *FAST_KDF,
        ]
    )
    assert code == 0, err
    manifest = load_manifest(out)
    ledger = process("ledger")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for hospital in manifest.hospitals:
            procs.append(
                launch(out / hospital.slug, ledger, env={"MEDLEDGER_PASSPHRASE": PASSPHRASE})
            )
        for proc, hospital in zip(procs, manifest.hospitals, strict=True):
            _wait_healthy(proc, "jsonrpc", ledger.health_url(hospital.ports))
        yield Running(out, procs)
    finally:
        for proc in procs:
            _stop(proc)


@pytest.fixture
def consortium(running: Running) -> Path:
    return running.out


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
    assert contract.functions.validators().call() == [h.signing_address for h in manifest.hospitals]
    other = connect(manifest.hospitals[3].rpc_url)  # the tertiary hospital's own ledger
    assert other.eth.get_code(manifest.contracts["consortium"]) == w3.eth.get_code(
        manifest.contracts["consortium"]
    )
    again_code, again, _ = run_cli(["consortium", "deploy", "--dir", str(consortium), "--json"])
    assert again_code == 0
    assert json.loads(again)["deployed"] is False


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
    assert contract.functions.getMember(admitted.signing_address).call()[0] == (
        "Second County Hospital"
    )


def test_node_process_from_the_table_runs_on_the_written_config(consortium: Path) -> None:
    """``node run`` as the demo and compose start it, on ``init``'s node.json, is healthy."""
    run_cli(["consortium", "deploy", "--dir", str(consortium)])
    village = load_manifest(consortium).hospitals[0]
    node = process("node")
    proc = launch(consortium / village.slug, node, env={"MEDLEDGER_PASSPHRASE": PASSPHRASE})
    try:
        _wait_healthy(proc, "http", node.health_url(village.ports))
        answer = httpx.get(node.health_url(village.ports), timeout=5).json()
        assert answer == {"status": "ok", "anchoring_error": None}
    finally:
        _stop(proc)


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
    running: Running, tmp_path: Path
) -> None:
    """Back up a running validator, stop it, restore the copy in place, start it from the
    process table: it resumes at the backed-up height and the consortium still commits."""
    consortium = running.out
    run_cli(["consortium", "deploy", "--dir", str(consortium)])
    manifest = load_manifest(consortium)
    village = manifest.hospitals[0]
    home = consortium / village.slug
    height_before = connect(village.rpc_url).eth.block_number
    code, out, err = run_cli(
        ["consortium", "backup", str(home), "--to", str(tmp_path / "b"), "--json"]
    )
    assert code == 0, err
    assert json.loads(out)["chain"] is True
    _stop(running.procs[0])
    home.rename(tmp_path / "damaged")
    (tmp_path / "b").rename(home)
    ledger = process("ledger")
    running.procs[0] = launch(home, ledger, env={"MEDLEDGER_PASSPHRASE": PASSPHRASE})
    _wait_healthy(running.procs[0], "jsonrpc", ledger.health_url(village.ports))
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
