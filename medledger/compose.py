"""Generate ``docker-compose.yml`` from the process table (``python -m medledger.compose``).

The file is generated, not hand-kept, so its commands cannot drift from
:data:`medledger.processes.HOSPITAL_PROCESSES`; the tests check the committed file is what
this writes, validate it against the Compose Specification schema, and check consistency.

Per hospital: ``<slug>-ledger``, ``<slug>-node``, ``<slug>-gateway`` (the medledger image,
one process each, working directory = the hospital directory) and ``<slug>-ipfs`` (Kubo in
a private swarm). One-shot services create the consortium (``consortium-init``) and deploy
its contracts (``consortium-deploy``). Secrets stay out of the file: the keystore
passphrase comes from the operator's environment (``MEDLEDGER_PASSPHRASE``), every other
secret is generated into the ``consortium`` volume by ``consortium-init``, and so are the
consortium CA and every hospital's certificates: node APIs and gateways serve HTTPS on the
compose network (``consortium init --network compose`` turns TLS on), so healthchecks
trust the hospital's ``tls/ca.pem``. A ledger (validator) container mounts only its
hospital's ``ledger.json``, ``genesis.json`` and ``validator/`` (volume subpaths), never the
member keystore.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from medledger.consortium.hospital import VALIDATOR_DIR
from medledger.consortium.layout import (
    COMPOSE_STATE_ROOT,
    KUBO_API_PORT,
    HospitalPlan,
    plan_hospitals,
)
from medledger.processes import HOSPITAL_PROCESSES

KUBO_IMAGE = "ipfs/kubo:v0.32.1"
IMAGE = "medledger:0.1.0"
CONSORTIUM_ROOT = "/consortium"
HOSPITALS = 4
PASSPHRASE = "${MEDLEDGER_PASSPHRASE:?set MEDLEDGER_PASSPHRASE (keystore passphrase)}"
HEALTH = {"interval": "10s", "timeout": "5s", "retries": 5, "start_period": "20s"}
#: Where each process keeps state: a named volume per hospital and kind.
STATE_VOLUMES = {"ledger": "chain", "node": "node-data"}
#: All a validator's container sees of its hospital directory: its config, the genesis and
#: the validator key. Not ``keystore/`` (the member key signs transactions, grants and
#: tokens), not ``operator/``, not the secrets: a compromised validator host holds nothing
#: that acts as the hospital.
LEDGER_FILES = ("ledger.json", "genesis.json", VALIDATOR_DIR)


def _no() -> Any:
    """``"no"`` quoted in the YAML: YAML 1.1 readers take a bare ``no`` for false."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    return DoubleQuotedScalarString("no")


def _medledger_base(*, build: bool = False) -> dict[str, Any]:
    """The medledger image; built once (by ``consortium-init``), reused by every service."""
    base: dict[str, Any] = {"image": IMAGE}
    base |= {"build": {"context": "."}} if build else {"pull_policy": "never"}
    return base | {
        "restart": "unless-stopped",
        "environment": {"MEDLEDGER_PASSPHRASE": PASSPHRASE},
    }


def _setup_services(plans: tuple[HospitalPlan, ...]) -> dict[str, Any]:
    validators = sum(plan.validator for plan in plans)
    fewer = ["--validators", str(validators)] if validators < len(plans) else []
    return {
        "consortium-init": {
            **_medledger_base(build=True),
            "restart": _no(),
            "command": [
                "consortium",
                "init",
                "--hospitals",
                str(len(plans)),
                "--out",
                CONSORTIUM_ROOT,
                "--network",
                "compose",
                "--if-missing",
                *fewer,
            ],
            "volumes": [f"consortium:{CONSORTIUM_ROOT}"],
        },
        "consortium-deploy": {
            **_medledger_base(),
            "restart": _no(),
            "command": ["consortium", "deploy", "--dir", CONSORTIUM_ROOT],
            "volumes": [f"consortium:{CONSORTIUM_ROOT}:ro"],
            # A BFT chain commits only with a quorum up: wait for every validator's ledger.
            "depends_on": {
                f"{plan.slug}-ledger": {"condition": "service_healthy"}
                for plan in plans
                if plan.validator
            },
        },
    }


def _subpath_mount(slug: str, path: str) -> dict[str, Any]:
    """``consortium:/<slug>/<path>`` read-only at the same place (a volume subpath mount)."""
    return {
        "type": "volume",
        "source": "consortium",
        "target": f"{CONSORTIUM_ROOT}/{slug}/{path}",
        "read_only": True,
        "volume": {"subpath": f"{slug}/{path}"},
    }


def _hospital_services(plan: HospitalPlan) -> dict[str, Any]:
    home = f"{CONSORTIUM_ROOT}/{plan.slug}"
    services: dict[str, Any] = {}
    for proc in HOSPITAL_PROCESSES:
        if proc.validators_only and not plan.validator:
            continue  # as on loopback (medledger.consortium.local): its node uses a validator's RPC
        volumes: list[Any] = [f"consortium:{CONSORTIUM_ROOT}:ro"]
        if proc.name == "ledger":
            volumes = [_subpath_mount(plan.slug, path) for path in LEDGER_FILES]
        if proc.name in STATE_VOLUMES:
            kind = STATE_VOLUMES[proc.name]
            volumes.append(f"{plan.slug}-{kind}:{COMPOSE_STATE_ROOT}/{kind}")
        port = getattr(plan.ports, proc.port)
        published = [f"127.0.0.1:{port}:{port}"]
        if proc.name == "node":  # its DICOM listener, for the hospital's PACS and modalities
            published.append(f"127.0.0.1:{plan.ports.dicom}:{plan.ports.dicom}")
        after = "consortium-init" if proc.name == "ledger" else "consortium-deploy"
        depends: dict[str, Any] = {after: {"condition": "service_completed_successfully"}}
        if proc.name == "node":
            depends[f"{plan.slug}-ipfs"] = {"condition": "service_healthy"}
        services[f"{plan.slug}-{proc.name}"] = {
            **_medledger_base(),
            "command": list(proc.argv),
            "working_dir": home,
            "volumes": volumes,
            "ports": published,
            "depends_on": depends,
            "healthcheck": {
                "test": ["CMD", *proc.health_argv(plan.ports, tls=plan.tls)],
                **HEALTH,
            },
        }
    services[f"{plan.slug}-ipfs"] = {
        "image": KUBO_IMAGE,
        "restart": "unless-stopped",
        "environment": {
            "LIBP2P_FORCE_PNET": "1",
            "IPFS_SWARM_KEY_FILE": f"{home}/swarm.key",
            "IPFS_PROFILE": "server",
        },
        "volumes": [f"{plan.slug}-ipfs:/data/ipfs", f"consortium:{CONSORTIUM_ROOT}:ro"],
        # No published ports: the RPC API (5001) and swarm (4001) stay on the compose network.
        "expose": [str(KUBO_API_PORT), "4001"],
        "depends_on": {"consortium-init": {"condition": "service_completed_successfully"}},
        "healthcheck": {"test": ["CMD", "ipfs", "id"], **HEALTH},
    }
    return services


def compose_document(count: int = HOSPITALS, validators: int | None = None) -> dict[str, Any]:
    """The compose project as a plain dict (what the YAML file holds).

    Every hospital validates unless ``validators`` says how many (the first ones) do, as
    ``consortium init --validators`` plans them.
    """
    plans = plan_hospitals(count, validators=validators, tls=True)  # init's compose default
    services = _setup_services(plans)
    volumes: dict[str, Any] = {"consortium": {}}
    for plan in plans:
        services |= _hospital_services(plan)
        for kind in ("chain", "node-data", "ipfs") if plan.validator else ("node-data", "ipfs"):
            volumes[f"{plan.slug}-{kind}"] = {}
    return {"name": "medledger", "services": services, "volumes": volumes}


def _header(count: int) -> str:
    plans = plan_hospitals(count, validators=count)
    rows = "\n".join(
        f"#   {p.slug:<24} rpc {p.ports.rpc}  p2p {p.ports.p2p}  node API {p.ports.node_api}"
        f"  gateway {p.ports.gateway}  DICOM {p.ports.dicom}"
        for p in plans
    )
    return (
        "# A 4-hospital medledger consortium. GENERATED by `python -m medledger.compose`;\n"
        "# edit medledger/compose.py or medledger/processes.py, not this file.\n"
        "#\n"
        "#   export MEDLEDGER_PASSPHRASE=...   # keystore passphrase, never written here\n"
        "#   docker compose up -d --build\n"
        "#\n"
        "# Ports (the same inside the network; RPC, node API and gateway are also published\n"
        "# on 127.0.0.1 of the host, p2p stays inside the network):\n"
        f"{rows}\n"
        "# Kubo (API 5001, swarm 4001) is reachable only inside the compose network; its\n"
        "# swarm is private (swarm.key generated by consortium-init, LIBP2P_FORCE_PNET=1).\n"
    )


def render(count: int = HOSPITALS) -> str:
    """The YAML text of ``docker-compose.yml``."""
    from ruamel.yaml import YAML  # a dev-time dependency: only the generator needs it

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 120
    buffer = io.StringIO()
    yaml.dump(compose_document(count), buffer)
    return _header(count) + buffer.getvalue()


if __name__ == "__main__":
    sys.stdout.write(render())
