"""``ledger init --validators N`` writes one folder per validator that ``ledger run`` reads.

Two validators here (each keystore costs a scrypt); the 4-validator layout is exercised
end to end by ``tests/integration/test_bft_cluster.py``.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli.nodeconf import load_node_config
from ledger.config import load_genesis
from medledger.cli import app

SECRET = "consortium-test-passphrase"


def test_init_with_two_validators_writes_a_loopback_consortium(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEDLEDGER_PASSPHRASE", SECRET)
    out = tmp_path / "consortium"
    args = ["ledger", "init", "--out", str(out), "--validators", "2", "--p2p-port", "31000"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    genesis = load_genesis(out / "genesis.json")
    assert genesis.validators == summary["validators"] and len(genesis.validators) == 2
    ports = []
    for i in range(2):
        config, base = load_node_config(out / f"node{i}" / "node.json")
        assert config.p2p is not None
        assert load_genesis(base / config.genesis) == genesis
        assert [p.address for p in config.p2p.peers] == genesis.validators
        keystore = base / config.validator_keystore
        assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
        assert SECRET not in keystore.read_text()
        ports.append((config.rpc.port, config.p2p.port))
    assert ports == [(8545 + i, 31000 + i) for i in range(2)]
