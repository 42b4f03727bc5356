"""``add-member --validator`` and ``set-validator``: the checks made before any chain call.

The vote itself runs against real validator processes in
``tests/integration/test_validator_admission.py``; these are the refusals that need no chain
and must leave the consortium directory as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from ledger.cli.nodeconf import load_node_config
from medledger.consortium.manifest import load_manifest
from medledger.consortium.validators import consensus_timeouts, enable_p2p, peer_of
from medledger.consortium.writer import FAST_TIMEOUTS
from tests.medledger.conftest import FAST_KDF, run_cli


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*.json")}


def test_a_validator_cannot_join_a_consortium_founded_with_one_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    out = tmp_path / "c"
    code, _, err = run_cli(
        ["consortium", "init", "--hospitals", "2", "--validators", "1", "--out", str(out),
         *FAST_KDF]
    )  # fmt: skip
    assert code == 0, err
    before = _snapshot(out)
    code, _, err = run_cli(
        ["consortium", "add-member", "--dir", str(out), "--tier", "county", "--validator",
         *FAST_KDF]
    )  # fmt: skip
    assert code == 4
    assert "validates alone without p2p" in err and "--validators 2" in err
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "township-health-centre",
        "village-clinic",
    ]


def test_validators_announce_the_endpoint_their_peers_resolve(tmp_path: Path) -> None:
    """Under compose a ledger listens on 0.0.0.0: it announces its service name instead."""
    out = tmp_path / "c"
    code, _, err = run_cli(
        ["consortium", "init", "--hospitals", "2", "--network", "compose", "--out", str(out),
         *FAST_KDF]
    )  # fmt: skip
    assert code == 0, err
    manifest = json.loads((out / "consortium.json").read_text())
    for hospital in manifest["hospitals"]:
        p2p = json.loads((out / hospital["directory"] / "ledger.json").read_text())["p2p"]
        assert p2p["host"] == "0.0.0.0"
        assert p2p["advertise"] == f"{hospital['slug']}-ledger:{hospital['ports']['p2p']}"
        assert p2p["advertise"] == hospital["p2p_endpoint"]


def test_set_validator_names_an_unknown_member(tmp_path: Path) -> None:
    out = tmp_path / "c"
    code, _, err = run_cli(["consortium", "init", "--hospitals", "1", "--out", str(out), *FAST_KDF])
    assert code == 0, err
    code, _, err = run_cli(["consortium", "set-validator", "--dir", str(out), "--member", "nope"])
    assert code == 2 and "no hospital 'nope'" in err


def test_a_member_flagged_on_gets_a_p2p_section_listing_the_validators_and_itself(
    tmp_path: Path,
) -> None:
    out = tmp_path / "c"
    code, _, err = run_cli(
        ["consortium", "init", "--hospitals", "3", "--validators", "2", "--fast-consensus",
         "--out", str(out), *FAST_KDF]
    )  # fmt: skip
    assert code == 0, err
    manifest = load_manifest(out)
    validators, member = manifest.hospitals[:2], manifest.hospitals[2]
    assert json.loads((out / member.directory / "ledger.json").read_text())["p2p"] is None
    timeouts = consensus_timeouts(out, validators)
    assert timeouts == FAST_TIMEOUTS
    enable_p2p(
        out, manifest, member, validators=[peer_of(v) for v in validators], timeouts=timeouts
    )
    config, _ = load_node_config(out / member.directory / "ledger.json")
    assert config.p2p is not None
    assert [p.address for p in config.p2p.peers] == [  # validator keys, not accounts
        h.validator_address for h in (*validators, member)
    ]
    assert config.p2p.port == member.ports.p2p and config.p2p.host == "127.0.0.1"
    assert config.p2p.announce() == member.p2p_endpoint
    assert config.p2p.timeouts == FAST_TIMEOUTS
    assert config.validator_keystore == "validator/validator.json"  # the rest is kept
