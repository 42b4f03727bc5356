"""``gateway.env`` and ``node.json`` must name the same suite: checked before serving."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.exceptions import ConfigurationError
from gateway.wiring.build import check_agreement
from node.config import (
    ContractAddresses,
    LoadedConfig,
    NodeSettings,
    load_config,
    write_config,
)
from tests.gateway.conftest import GRANTS_CONTRACT, HOSPITAL, make_settings

OTHER_GRANTS = "0x" + "ab" * 20


def _node_config(directory: Path, *, grants: str) -> Path:
    addresses = ContractAddresses(consortium="0x" + "01" * 20, anchors="0x" + "02" * 20,
                                  referrals="0x" + "03" * 20, grants=grants)  # fmt: skip
    path = directory / "node.json"
    # port 9 (discard) refuses: the chain is down, only the files are compared
    write_config(path, NodeSettings(rpc_url="http://127.0.0.1:9", contracts=addresses))
    return path


def _loaded(path: Path) -> LoadedConfig:
    return load_config(path)


def test_the_gateway_refuses_to_start_on_another_grants_contract_than_its_node(
    tmp_path: Path,
) -> None:
    _node_config(tmp_path, grants=OTHER_GRANTS)
    (tmp_path / "gateway.env").write_text(
        "MEDLEDGER_GATEWAY_ENV=test\n"
        f"MEDLEDGER_GATEWAY_HOSPITAL={HOSPITAL}\n"
        "MEDLEDGER_GATEWAY_CHAIN_ID=1337\n"
        f"MEDLEDGER_GATEWAY_GRANTS_CONTRACT={GRANTS_CONTRACT}\n"
        f"MEDLEDGER_GATEWAY_SESSION_SECRET={'s' * 40}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "medledger", "gateway", "run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"MEDLEDGER_PASSPHRASE": "x", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "gateway.env" in result.stderr
    assert "node.json" in result.stderr
    assert GRANTS_CONTRACT in result.stderr
    assert OTHER_GRANTS.lower() in result.stderr.lower()


def test_another_chain_id_than_the_nodes_chain_answers_is_refused(tmp_path: Path) -> None:
    path = _node_config(tmp_path, grants=GRANTS_CONTRACT)
    with pytest.raises(ConfigurationError, match=r"gateway\.env.*node\.json.*chain id 7"):
        check_agreement(make_settings(chain_id=4242), _loaded(path), path, chain_id=7)


def test_agreeing_files_pass_and_a_chain_that_is_down_is_not_a_disagreement(
    tmp_path: Path,
) -> None:
    path = _node_config(tmp_path, grants=GRANTS_CONTRACT.lower())
    check_agreement(make_settings(chain_id=4242), _loaded(path), path, chain_id=4242)
    check_agreement(make_settings(chain_id=4242), _loaded(path), path, chain_id=None)
