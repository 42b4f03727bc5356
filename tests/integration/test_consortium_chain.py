"""A consortium from ``consortium init`` on a real chain: the demo's ledger process (launched
from the process table), ``consortium deploy`` and the admission vote of ``add-member``.

One validator (``--validators 1``): multi-validator consensus over p2p is not on main yet,
and one validator commits alone with the same code. The chain is a real ``medledger ledger
run`` process on loopback; the CLI commands run in-process against it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("chain") / "c"
    code, _, err = run_cli(
        [
            "consortium",
            "init",
            "--hospitals",
            "4",
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
    manifest = load_manifest(out)
    ledger = process("ledger")
    proc = launch(
        out / manifest.hospitals[0].slug, ledger, env={"MEDLEDGER_PASSPHRASE": PASSPHRASE}
    )
    try:
        _wait_healthy(proc, "jsonrpc", ledger.health_url(manifest.hospitals[0].ports))
        yield out
    finally:
        _stop(proc)


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
    assert contract.functions.validators().call() == [manifest.hospitals[0].signing_address]
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


def test_hot_backup_of_a_running_hospital_restores_its_chain(
    consortium: Path, tmp_path: Path
) -> None:
    """Back up while the ledger writes blocks; a ledger started from the copy has the state."""
    run_cli(["consortium", "deploy", "--dir", str(consortium)])
    manifest = load_manifest(consortium)
    village = consortium / manifest.hospitals[0].slug
    w3 = connect(manifest.hospitals[0].rpc_url)
    height_before = w3.eth.block_number
    code, out, err = run_cli(["consortium", "backup", str(village), "--to", str(tmp_path / "b"),
                              "--json"])  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["chain"] is True
    port = _free_port()
    restored = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "medledger",
            "ledger",
            "run",
            "--config",
            "ledger.json",
            "--port",
            str(port),
        ],
        cwd=tmp_path / "b",
        env={**os.environ, "MEDLEDGER_PASSPHRASE": PASSPHRASE},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # bounded: 20 s
            if restored.poll() is not None or check("jsonrpc", url, timeout_s=1.0) is None:
                break
            time.sleep(0.1)
        assert restored.poll() is None, restored.communicate()[0].decode(errors="replace")
        copy = connect(url)
        assert copy.eth.block_number >= height_before
        assert copy.eth.get_code(manifest.contracts["consortium"]) == w3.eth.get_code(
            manifest.contracts["consortium"]
        )
    finally:
        restored.terminate()
        restored.wait(timeout=15)
