"""docker-compose.yml: valid Compose, consistent, and running exactly the process table.

There is no Docker engine here, so the file is validated against the Compose Specification
JSON schema as vendored by check-jsonschema (a maintained package; nothing is downloaded at
test time) and checked for consistency; the commands are compared with
``medledger.processes.HOSPITAL_PROCESSES``, the table the demo launches from.
"""

from __future__ import annotations

import importlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from medledger import compose
from medledger.consortium.layout import plan_hospitals
from medledger.processes import HOSPITAL_PROCESSES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"


def _load() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(COMPOSE_FILE.read_text())
    return data


def _schema() -> dict[str, Any]:
    text = (
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_committed_compose_file_is_what_the_generator_writes() -> None:
    assert COMPOSE_FILE.read_text() == compose.render(), (
        "docker-compose.yml is stale: python -m medledger.compose > docker-compose.yml"
    )


def test_compose_file_is_valid_against_the_compose_spec_schema() -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(_load()), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_schema_check_can_fail_on_a_broken_service() -> None:
    doc = _load()
    doc["services"]["village-clinic-ledger"]["healthcheck"]["retries"] = "many"
    doc["services"]["village-clinic-node"]["depends_on"] = 7
    validator = jsonschema.Draft202012Validator(_schema())
    assert len(list(validator.iter_errors(doc))) >= 2


def test_every_hospital_runs_the_process_table_in_its_directory() -> None:
    services = _load()["services"]
    for plan in plan_hospitals(4):
        for proc in HOSPITAL_PROCESSES:
            service = services[f"{plan.slug}-{proc.name}"]
            assert service["command"] == list(proc.argv)
            assert service["working_dir"] == f"/consortium/{plan.slug}"
            test = ["CMD", *proc.health_argv(plan.ports, tls=True)]  # compose runs with TLS
            assert service["healthcheck"]["test"] == test
        assert services[f"{plan.slug}-ipfs"]["healthcheck"]["test"]
    medledger_services = [s for s in services.values() if s["image"].startswith("medledger")]
    assert len(medledger_services) == 4 * len(HOSPITAL_PROCESSES) + 2


def test_every_named_volume_is_declared_and_state_is_on_named_volumes() -> None:
    doc = _load()
    declared = set(doc["volumes"])
    used = set()
    for name, service in doc["services"].items():
        for entry in service.get("volumes", []):
            source = entry["source"] if isinstance(entry, dict) else entry.split(":")[0]
            assert not source.startswith((".", "/")), f"{name}: bind mount {entry}"
            used.add(source)
    assert used == declared
    for plan in plan_hospitals(4):
        assert {f"{plan.slug}-chain", f"{plan.slug}-node-data", f"{plan.slug}-ipfs"} <= declared


def test_a_validator_container_mounts_its_validator_key_and_no_member_key() -> None:
    """The ledger sees ledger.json, genesis.json and validator/ of its hospital, read-only;
    the node and gateway (which sign transactions and tokens) see the keystore."""
    services = _load()["services"]
    for plan in plan_hospitals(4):
        ledger = services[f"{plan.slug}-ledger"]
        home = f"/consortium/{plan.slug}"
        mounts = [v for v in ledger["volumes"] if isinstance(v, dict)]
        assert {m["target"] for m in mounts} == {
            f"{home}/ledger.json",
            f"{home}/genesis.json",
            f"{home}/validator",
        }
        assert all(m["read_only"] and m["source"] == "consortium" for m in mounts)
        assert all(
            m["volume"]["subpath"] == m["target"].removeprefix("/consortium/") for m in mounts
        )
        # no whole-volume mount: keystore/, operator/ and the secrets stay out of reach
        assert [v for v in ledger["volumes"] if not isinstance(v, dict)] == [
            f"{plan.slug}-chain:/var/lib/medledger/chain"
        ]
        assert "consortium:/consortium:ro" in services[f"{plan.slug}-node"]["volumes"]


def test_published_ports_are_unique_and_only_on_loopback() -> None:
    published = []
    for service in _load()["services"].values():
        for port in service.get("ports", []):
            host, outside, inside = port.split(":")
            assert host == "127.0.0.1"
            assert outside == inside
            published.append(int(outside))
    # one per process, plus each node's DICOM listener
    assert len(published) == len(set(published)) == 4 * (len(HOSPITAL_PROCESSES) + 1)


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in _load()["services"].items():
        if service.get("restart") == "no":
            continue
        assert service["healthcheck"]["test"][0] == "CMD", name


def test_kubo_is_pinned_private_and_unpublished() -> None:
    for plan in plan_hospitals(4):
        kubo = _load()["services"][f"{plan.slug}-ipfs"]
        assert re.fullmatch(r"ipfs/kubo:v\d+\.\d+\.\d+", kubo["image"])
        assert kubo["environment"]["LIBP2P_FORCE_PNET"] == "1"
        assert kubo["environment"]["IPFS_SWARM_KEY_FILE"] == f"/consortium/{plan.slug}/swarm.key"
        assert "ports" not in kubo


def test_no_secret_is_inlined() -> None:
    text = COMPOSE_FILE.read_text()
    for service in _load()["services"].values():
        for key, value in service.get("environment", {}).items():
            if "PASSPHRASE" in key or "SECRET" in key or "TOKEN" in key:
                assert str(value).startswith("${"), key
    assert not re.search(r"[0-9a-f]{64}", text)
    assert "/key/swarm/psk" not in text


def test_processes_start_after_the_consortium_exists() -> None:
    services = _load()["services"]
    deploy = services["consortium-deploy"]["depends_on"]
    assert deploy == {
        f"{plan.slug}-ledger": {"condition": "service_healthy"} for plan in plan_hospitals(4)
    }
    for plan in plan_hospitals(4):
        ledger = services[f"{plan.slug}-ledger"]["depends_on"]
        assert ledger["consortium-init"]["condition"] == "service_completed_successfully"
        node = services[f"{plan.slug}-node"]["depends_on"]
        assert node["consortium-deploy"]["condition"] == "service_completed_successfully"
        assert node[f"{plan.slug}-ipfs"]["condition"] == "service_healthy"


@pytest.mark.parametrize("proc", HOSPITAL_PROCESSES, ids=lambda p: p.name)
def test_each_process_command_exists_in_the_cli(proc: Any) -> None:
    module = importlib.import_module(proc.module)
    names = {c.name or c.callback.__name__ for c in module.app.registered_commands}
    assert proc.argv[1] in names


def test_configs_written_by_the_init_service_name_only_services_of_the_file(
    tmp_path: Path,
) -> None:
    """Run the ``consortium-init`` service's own command here; every host and port its
    configs name must be a service of the compose file listening there."""
    from ledger.cli.nodeconf import load_node_config
    from medledger.consortium.manifest import load_manifest
    from node.config import load_config
    from tests.medledger.conftest import FAST_KDF, run_cli

    services = _load()["services"]
    argv = [a.replace("/consortium", str(tmp_path / "c")) for a in
            services["consortium-init"]["command"]]  # fmt: skip
    code, _, err = run_cli([*argv, *FAST_KDF])
    assert code == 0, err

    def published(service: str) -> set[int]:
        return {int(p.split(":")[-1]) for p in services[service].get("ports", [])} | {
            int(e) for e in services[service].get("expose", [])
        }

    out = tmp_path / "c"
    for hospital in load_manifest(out).hospitals:
        node = load_config(out / hospital.slug / "node.json").settings
        ledger_cfg, _ = load_node_config(out / hospital.slug / "ledger.json")
        urls = [node.rpc_url, node.blob.api or "", hospital.node_url, hospital.gateway_url]
        for url in urls:
            host, port = url.split("://")[-1].rstrip("/").split(":")
            assert host in services, url
            assert int(port) in published(host), url
        assert ledger_cfg.p2p is not None
        for peer in ledger_cfg.p2p.peers:
            assert peer.host in services
        assert services[f"{hospital.slug}-ledger"]["working_dir"] == f"/consortium/{hospital.slug}"
        # state directories named by the configs are the mount points of named volumes
        mounts = {
            "ledger": (ledger_cfg.data_dir, f"{hospital.slug}-chain"),
            "node": (node.data_dir, f"{hospital.slug}-node-data"),
        }
        for proc, (path, volume) in mounts.items():
            assert f"{volume}:{path}" in services[f"{hospital.slug}-{proc}"]["volumes"]


def _runs(doc: dict[str, Any], proc_name: str) -> set[str]:
    """Slugs of the hospitals that have a ``<slug>-<proc>`` service in ``doc``."""
    return {
        name.removesuffix(f"-{proc_name}")
        for name in doc["services"]
        if name.endswith(f"-{proc_name}") and not name.startswith("consortium-")
    }


def test_demo_and_compose_start_the_same_processes_at_the_same_hospitals(tmp_path: Path) -> None:
    """The demo's consortium (every hospital a validator) launched by ``LocalConsortium``
    runs each process of the table at exactly the hospitals the compose file does."""
    from medledger.consortium.local import LocalConsortium
    from medledger.demo_setup import write_consortium

    demo = write_consortium(tmp_path / "demo")
    local = LocalConsortium(demo.directory, passphrase="unused: nothing is launched")
    doc = _load()
    for proc in HOSPITAL_PROCESSES:
        assert {h.slug for h in local.hospitals(proc)} == _runs(doc, proc.name), proc.name
    assert all(h.validator for h in demo.manifest.hospitals)


def test_a_non_validating_hospital_runs_no_ledger_in_compose_as_on_loopback(
    tmp_path: Path,
) -> None:
    """With 3 of 4 validating, compose and ``LocalConsortium`` agree on who runs what, the
    file is still valid, and the fourth hospital's node names a validator's ledger service."""
    from medledger.consortium.local import LocalConsortium
    from medledger.consortium.manifest import load_manifest
    from node.config import load_config
    from tests.medledger.conftest import FAST_KDF, run_cli

    doc = compose.compose_document(4, validators=3)
    assert list(jsonschema.Draft202012Validator(_schema()).iter_errors(doc)) == []
    argv = [a.replace("/consortium", str(tmp_path / "c")) for a in
            doc["services"]["consortium-init"]["command"]]  # fmt: skip
    assert argv[-2:] == ["--validators", "3"]
    code, _, err = run_cli([*argv, *FAST_KDF])
    assert code == 0, err
    local = LocalConsortium(tmp_path / "c", passphrase="unused: nothing is launched")
    for proc in HOSPITAL_PROCESSES:
        assert {h.slug for h in local.hospitals(proc)} == _runs(doc, proc.name), proc.name
    tertiary = plan_hospitals(4)[3].slug
    assert f"{tertiary}-ledger" not in doc["services"]
    assert f"{tertiary}-chain" not in doc["volumes"]
    assert len(doc["services"]["consortium-deploy"]["depends_on"]) == 3
    entry = next(h for h in load_manifest(tmp_path / "c").hospitals if h.slug == tertiary)
    rpc_host = load_config(tmp_path / "c" / entry.directory / "node.json").settings.rpc_url
    assert rpc_host.removeprefix("http://").split(":")[0] in doc["services"]
