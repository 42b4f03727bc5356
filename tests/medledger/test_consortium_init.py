"""``medledger consortium init``: keys, genesis, configs and manifest of a local consortium.

Every config written is loaded back with the loader of the process that reads it
(``ledger.cli.nodeconf``, ``node.config``, ``gateway.settings``), so a field-name drift
between this writer and those models fails here.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from gateway.settings import GatewaySettings
from keys.keystore import Keystore
from ledger.cli.keystore import read_keystore
from ledger.cli.nodeconf import load_node_config
from ledger.config import load_genesis
from medledger.consortium.files import read_env_file
from medledger.consortium.manifest import load_manifest
from node.config import load_config
from tests.medledger.conftest import FAST_KDF, PASSPHRASE, run_cli

SECRET_FILES = ("consortium.secret", "gateway.env", "node-api.token", "swarm.key")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_four_hospitals_of_four_tiers_share_one_genesis(consortium_dir: Path) -> None:
    manifest = load_manifest(consortium_dir)
    assert [h.tier for h in manifest.hospitals] == ["village", "township", "county", "tertiary"]
    genesis = load_genesis(consortium_dir / "genesis.json")
    # the chain's validators are the hospitals' validator keys, not their accounts
    assert genesis.validators == [h.validator_address for h in manifest.hospitals]
    # permissions come from the genesis Consortium, not from a static account list
    assert genesis.accounts == []
    assert genesis.consortium_contract == manifest.contracts["consortium"]
    assert genesis.alloc[genesis.consortium_contract].code != "0x"
    texts = {(consortium_dir / h.slug / "genesis.json").read_text() for h in manifest.hospitals}
    assert texts == {(consortium_dir / "genesis.json").read_text()}


def test_ports_are_unique_across_the_consortium(consortium_dir: Path) -> None:
    manifest = load_manifest(consortium_dir)
    ports = [p for h in manifest.hospitals for p in h.ports.model_dump().values()]
    assert len(ports) == len(set(ports)) == 24  # rpc, p2p, node API, gateway, DICOM, HL7
    for h in manifest.hospitals:  # each node's DICOM listener is on, on its own port
        dimse = load_config(consortium_dir / h.slug / "node.json").settings.dimse
        assert dimse.enabled and dimse.port == h.ports.dicom and dimse.peers == ()


def test_each_config_loads_with_its_process_loader(consortium_dir: Path) -> None:
    manifest = load_manifest(consortium_dir)
    for hospital in manifest.hospitals:
        home = consortium_dir / hospital.slug
        ledger_cfg, base = load_node_config(home / "ledger.json")
        assert ledger_cfg.rpc.port == hospital.ports.rpc
        assert ledger_cfg.rpc.host == "127.0.0.1"
        assert ledger_cfg.validator_keystore == "validator/validator.json"
        key = read_keystore(base / ledger_cfg.validator_keystore, PASSPHRASE)
        assert Account.from_key(key).address == hospital.validator_address
        node_cfg = load_config(home / "node.json")
        assert node_cfg.settings.rpc_url == hospital.rpc_url
        assert node_cfg.settings.contracts.model_dump() == manifest.contracts
        assert node_cfg.settings.blob.api is None  # loopback: the embedded store
        assert len(node_cfg.consortium_secret()) == 32
        token = (home / "node-api.token").read_text().strip()
        assert node_cfg.settings.api.token_ok(token)
        assert not node_cfg.settings.api.token_ok(token + "x")
        hl7 = node_cfg.settings.hl7  # issue 16: the node's MLLP listener, loopback peers only
        assert hl7.enabled and hl7.port == hospital.ports.hl7 != 0
        assert hl7.allowed_peers == ["127.0.0.1/32", "::1/128"]
        env = read_env_file(home / "gateway.env")
        settings = GatewaySettings.model_validate(
            {k.removeprefix("MEDLEDGER_GATEWAY_").lower(): v for k, v in env.items()}
        )
        assert settings.env == "prod"
        assert settings.hospital == hospital.signing_address
        assert settings.grants_contract == manifest.contracts["grants"]


def test_keystore_holds_signing_p2p_and_encryption_keys(consortium_dir: Path) -> None:
    hospital = load_manifest(consortium_dir).hospitals[2]
    store = Keystore.open(consortium_dir / hospital.slug / "keystore")
    public = store.export_public()
    assert public["signing_address"] == hospital.signing_address
    assert public["encryption"]["version"] == 1
    assert public["encryption"]["public_key"] == hospital.encryption_public_key
    assert store.load_signing_key(PASSPHRASE).address == hospital.signing_address


def test_init_writes_a_validator_key_apart_from_the_member_key(consortium_dir: Path) -> None:
    """Two keystore v3 files per hospital with distinct addresses; the ledger reads only one.

    The ledger's config names the validator file and nothing under ``keystore/``, so a
    validator host given ``validator/`` alone cannot sign a transaction or a token.
    """
    manifest = load_manifest(consortium_dir)
    validators, accounts = set(), set()
    for hospital in manifest.hospitals:
        home = consortium_dir / hospital.slug
        assert _mode(home / "validator") == 0o700
        assert _mode(home / "validator" / "validator.json") == 0o600
        validator = Account.from_key(
            read_keystore(home / "validator" / "validator.json", PASSPHRASE)
        )
        member = Keystore.open(home / "keystore").load_signing_key(PASSPHRASE)
        assert validator.address == hospital.validator_address
        assert member.address == hospital.signing_address != validator.address
        assert validator.key.hex() not in (home / "validator" / "validator.json").read_text()
        config = json.loads((home / "ledger.json").read_text())
        assert "keystore" not in json.dumps(config).replace("validator_keystore", "")
        peers = {p["address"] for p in config["p2p"]["peers"]}  # the p2p allow-list
        assert peers == {h.validator_address for h in manifest.hospitals}
        validators.add(validator.address)
        accounts.add(member.address)
    assert len(validators) == len(manifest.hospitals) and not validators & accounts


def test_each_hospital_has_its_own_encrypted_gateway_operator_keystore(
    consortium_dir: Path,
) -> None:
    """The gateway signs redemptions with ``operator/``, never the hospital's member key."""
    manifest = load_manifest(consortium_dir)
    seen = set()
    for hospital in manifest.hospitals:
        root = consortium_dir / hospital.slug / "operator"
        store = Keystore.open(root)
        assert store.export_public()["signing_address"] == hospital.operator_address
        assert hospital.operator_address != hospital.signing_address
        assert _mode(root) == 0o700
        files = [p for p in root.rglob("*") if p.is_file()]
        assert files and all(_mode(p) == 0o600 for p in files)
        key = store.load_signing_key(PASSPHRASE)
        assert key.address == hospital.operator_address
        for path in files:  # encrypted at rest: the raw private key appears in no file
            assert key.account.key.hex() not in path.read_bytes().hex()
        seen.add(hospital.operator_address)
    assert len(seen) == len(manifest.hospitals)


def test_secrets_are_private_files_and_absent_from_the_manifest(consortium_dir: Path) -> None:
    manifest_text = (consortium_dir / "consortium.json").read_text()
    secret_one = load_manifest(consortium_dir).hospitals[0].slug
    for name in SECRET_FILES:
        path = consortium_dir / secret_one / name
        assert _mode(path) == 0o600, name
    home = consortium_dir / secret_one
    secrets_seen = [
        (home / "consortium.secret").read_text().strip(),
        (home / "node-api.token").read_text().strip(),
        read_env_file(home / "gateway.env")["MEDLEDGER_GATEWAY_SESSION_SECRET"],
        (home / "swarm.key").read_text().splitlines()[-1],
    ]
    for secret in secrets_seen:
        assert secret not in manifest_text
        assert secret not in (home / "node.json").read_text()
    assert PASSPHRASE not in manifest_text


def test_swarm_key_is_a_kubo_psk_file_shared_by_all(consortium_dir: Path) -> None:
    manifest = load_manifest(consortium_dir)
    texts = {(consortium_dir / h.slug / "swarm.key").read_text() for h in manifest.hospitals}
    assert len(texts) == 1
    lines = texts.pop().splitlines()
    assert lines[:2] == ["/key/swarm/psk/1.0.0/", "/base16/"]
    assert len(lines[2]) == 64 and bytes.fromhex(lines[2])


def test_session_secrets_differ_between_hospitals(consortium_dir: Path) -> None:
    manifest = load_manifest(consortium_dir)
    secrets = {
        read_env_file(consortium_dir / h.slug / "gateway.env")["MEDLEDGER_GATEWAY_SESSION_SECRET"]
        for h in manifest.hospitals
    }
    assert len(secrets) == 4


def test_init_refuses_a_non_empty_directory_and_keeps_its_files(tmp_path: Path) -> None:
    out = tmp_path / "c"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    code, _, err = run_cli(["consortium", "init", "--hospitals", "2", "--out", str(out), *FAST_KDF])
    assert code == 2
    assert "not an empty directory" in err
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_if_missing_keeps_an_existing_consortium(consortium_dir: Path) -> None:
    before = (consortium_dir / "consortium.json").read_text()
    code, out, err = run_cli(
        [
            "consortium",
            "init",
            "--hospitals",
            "4",
            "--out",
            str(consortium_dir),
            "--if-missing",
            "--json",
        ]
    )
    assert code == 0, err
    assert json.loads(out)["created"] is False
    assert (consortium_dir / "consortium.json").read_text() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hospitals", "0"], "between 1 and 64"),
        (["--hospitals", "2", "--tiers", "village,moon"], "unknown tier 'moon'"),
        (["--hospitals", "2", "--validators", "3"], "--validators"),
        (["--hospitals", "3", "--base-port", "65530"], "no room"),
    ],
)
def test_bad_parameters_fail_clearly_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "c"
    code, _, err = run_cli(["consortium", "init", "--out", str(out), *args, *FAST_KDF])
    assert code == 2
    assert message in err
    assert not out.exists()


def test_short_passphrase_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "c"
    code, _, err = run_cli(
        ["consortium", "init", "--hospitals", "1", "--out", str(out), *FAST_KDF],
        env={"MEDLEDGER_PASSPHRASE": "short"},
    )
    assert code == 3
    assert "at least" in err
    assert "short" not in err.replace("at least", "")


def test_compose_network_configs_name_services_and_kubo(tmp_path: Path) -> None:
    out = tmp_path / "c"
    code, stdout, err = run_cli(
        [
            "consortium",
            "init",
            "--hospitals",
            "2",
            "--out",
            str(out),
            "--network",
            "compose",
            "--tiers",
            "county,tertiary",
            "--json",
            *FAST_KDF,
        ]
    )
    assert code == 0, err
    summary = json.loads(stdout)
    county = summary["hospitals"][0]
    assert county["slug"] == "county-hospital"
    node_cfg = load_config(out / "county-hospital" / "node.json").settings
    assert node_cfg.rpc_url == "http://county-hospital-ledger:8545"
    assert node_cfg.blob.api == "http://county-hospital-ipfs:5001"
    assert node_cfg.api.host == "0.0.0.0"
    assert node_cfg.data_dir == "/var/lib/medledger/node-data"  # a named volume
    ledger_cfg, _ = load_node_config(out / "county-hospital" / "ledger.json")
    assert ledger_cfg.rpc.host == "0.0.0.0"
    assert ledger_cfg.data_dir == "/var/lib/medledger/chain"
    assert ledger_cfg.p2p is not None
    assert ledger_cfg.p2p.host == "0.0.0.0"
    assert [(p.host, p.port) for p in ledger_cfg.p2p.peers] == [
        ("county-hospital-ledger", 8546),
        ("tertiary-hospital-ledger", 8556),
    ]


def test_every_validator_dials_every_validator_over_p2p(consortium_dir: Path) -> None:
    manifest = load_manifest(consortium_dir)
    expected = [(h.validator_address, "127.0.0.1", h.ports.p2p) for h in manifest.hospitals]
    for hospital in manifest.hospitals:
        cfg, _ = load_node_config(consortium_dir / hospital.slug / "ledger.json")
        assert cfg.p2p is not None
        assert cfg.p2p.port == hospital.ports.p2p
        assert [(p.address, p.host, p.port) for p in cfg.p2p.peers] == expected


def test_a_single_validator_chain_has_no_p2p_section(tmp_path: Path) -> None:
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
            *FAST_KDF,
        ]
    )
    assert code == 0, err
    manifest = load_manifest(out)
    assert [h.validator for h in manifest.hospitals] == [True, False]
    assert load_genesis(out / "genesis.json").validators == [
        manifest.hospitals[0].validator_address
    ]
    for hospital in manifest.hospitals:
        cfg, _ = load_node_config(out / hospital.slug / "ledger.json")
        assert cfg.p2p is None
    # the non-validator's node reads and writes through the validator's JSON-RPC
    follower = load_config(out / manifest.hospitals[1].slug / "node.json").settings
    assert follower.rpc_url == manifest.hospitals[0].rpc_url == manifest.hospitals[1].rpc_url


def test_fast_consensus_shortens_the_bft_timeouts_only_when_asked(
    consortium_dir: Path, tmp_path: Path
) -> None:
    default, _ = load_node_config(consortium_dir / "village-clinic" / "ledger.json")
    assert default.p2p is not None and default.p2p.timeouts.propose_ms == 3000
    out = tmp_path / "c"
    code, _, err = run_cli(
        ["consortium", "init", "--hospitals", "2", "--out", str(out), "--fast-consensus", *FAST_KDF]
    )
    assert code == 0, err
    fast, _ = load_node_config(out / "village-clinic" / "ledger.json")
    assert fast.p2p is not None and fast.p2p.timeouts.propose_ms == 600
