"""The Dockerfile: parsed with dockerfile-parse (no Docker engine here) and checked against
the package it installs; the wheel it would install is built and inspected.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    parser = DockerfileParser(str(ROOT / "Dockerfile"))
    return [(i["instruction"], i["value"]) for i in parser.structure]


def test_image_is_python_311_slim_non_root_with_the_cli_as_entrypoint() -> None:
    steps = _instructions()
    assert steps[[k for k, _ in steps].index("FROM")][1] == "python:3.11-slim"
    users = [v for k, v in steps if k == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert json.loads(next(v for k, v in steps if k == "ENTRYPOINT")) == ["medledger"]


def test_image_installs_no_node_toolchain() -> None:
    runs = " ".join(v for k, v in steps_of("RUN"))
    for word in ("npm", "nodejs", "node_modules", "solc", "apt-get install"):
        assert word not in runs


def steps_of(kind: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in _instructions() if k == kind]


def test_every_package_of_the_wheel_is_copied_into_the_image() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = set(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    copied = {source for _, v in steps_of("COPY") for source in v.split()[:-1]}
    assert packages | {"pyproject.toml", "README.md"} <= copied


def test_the_wheel_the_image_installs_carries_the_contract_artifacts(tmp_path: Path) -> None:
    """What ``pip install .`` in the image gets: artifacts included, so no compiler needed."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(ROOT),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("medledger-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    artifacts = {p.name for p in (ROOT / "contracts" / "artifacts").glob("*.json")}
    assert artifacts
    assert {f"contracts/artifacts/{a}" for a in artifacts} <= names
    assert "medledger/healthcheck.py" in names
    assert not any(n.startswith("tests/") for n in names)


def test_image_creates_the_state_volume_mount_points_for_its_user() -> None:
    """A fresh named volume takes the owner of the image directory it is mounted on."""
    from medledger.compose import compose_document

    runs = " ".join(v for _, v in steps_of("RUN"))
    targets = {
        entry.split(":")[1]
        for service in compose_document()["services"].values()
        if service.get("image", "").startswith("medledger")
        for entry in service.get("volumes", [])
        if isinstance(entry, str)  # the long-form ones are subpaths of the consortium volume
        and entry.split(":")[1].startswith("/var/lib/medledger")
    }
    assert targets == {"/var/lib/medledger/chain", "/var/lib/medledger/node-data"}
    for target in targets:
        assert target in runs
    assert "chown -R medledger:medledger /consortium /var/lib/medledger" in runs
