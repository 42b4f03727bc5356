"""``medledger audit trace …`` against the anvil story: JSON, rich timeline, FHIR, exit codes.

Most runs go through Typer's in-process runner (same code path, no interpreter start-up);
one runs the installed ``medledger`` entry point in a subprocess.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from gateway.audit_cli import app
from node.blobstore.embedded import EmbeddedBlobStore
from node.proof.json_codec import proof_to_json
from tests.contracts.backends import free_port
from tests.gateway.audit.story import Story
from tests.node.pack_damage import forget

runner = CliRunner()


@pytest.fixture(scope="module")
def contracts_file(story: Story, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("suite")) / "contracts.json"
    path.write_text(json.dumps(story.world.deployment.as_dict()))
    return path


def _trace(story: Story, contracts: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["trace", *args, "--rpc", story.world.chain.rpc_url, "--contracts", str(contracts)]
    )
    return result.exit_code, result.stdout, result.stderr


def test_case_json_is_the_story(story: Story, contracts_file: Path) -> None:
    code, out, _ = _trace(story, contracts_file, "case", "0x" + story.case.hex(), "--json",
                          "--blob-store", str(story.blobs.root))  # fmt: skip
    assert code == 0
    body = json.loads(out)
    assert [(e["kind"], e["tx"], e["block"]) for e in body["events"]] == [
        (s.kind, s.tx, s.block) for s in story.steps
    ]
    assert {c["status"] for c in body["ciphertext"]} == {"ok"}


def test_rich_timeline_and_fhir_file(story: Story, contracts_file: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "bundle.json"
    code, out, _ = _trace(
        story, contracts_file, "grant", str(story.break_glass), "--fhir", str(out_file)
    )
    assert code == 0
    assert "BreakGlassAccess" in out and "reason code 9" in out
    bundle = Bundle.model_validate_json(out_file.read_text())
    assert bundle.entry is not None and len(bundle.entry) == 3  # emergency, use, review
    assert "break-glass: reviewed (justified)" in out


def test_batched_record_with_proof_file(story: Story, contracts_file: Path, tmp_path: Path) -> None:
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(proof_to_json(story.batch_proof)))
    record = "0x" + story.batch_proof.record_id.hex()
    code, _, err = _trace(story, contracts_file, "record", record, "--json")
    assert code == 3 and "inclusion proof" in err
    code, out, _ = _trace(story, contracts_file, "record", record, "--json", "--proof", str(proof))
    assert code == 0 and json.loads(out)["proof"]["matches"] is True
    proof.write_text("{}")
    code, _, err = _trace(story, contracts_file, "record", record, "--proof", str(proof))
    assert code == 2 and "not a record proof" in err


def test_tampered_blob_store_fails_with_exit_4(
    story: Story, contracts_file: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "blobs"
    shutil.copytree(story.blobs.root, copy)
    victim = story.cids[story.record_v1]
    forget(EmbeddedBlobStore(copy, durable=False), victim)
    code, out, err = _trace(story, contracts_file, "record", "0x" + story.record_v1.hex(), "--json",
                            "--blob-store", str(copy))  # fmt: skip
    assert code == 4 and "check failed" in err
    statuses = {c["cid"]: c["status"] for c in json.loads(out)["ciphertext"]}
    assert statuses[victim] == "missing"
    assert statuses[story.cids[story.record_v2]] == "ok"


def test_bad_input_and_unknown_ids(story: Story, contracts_file: Path, tmp_path: Path) -> None:
    assert _trace(story, contracts_file, "case", "0x1234")[0] == 2
    assert _trace(story, contracts_file, "grant", "-1")[0] in (2,)
    assert _trace(story, contracts_file, "grant", "abc")[0] == 2
    code, _, err = _trace(story, contracts_file, "case", "0x" + "42" * 32)
    assert code == 3 and "no event about case" in err
    code, _, err = _trace(story, contracts_file, "grant", str(story.world.unknown_grant() + 9))
    assert code == 3
    broken = tmp_path / "contracts.json"
    broken.write_text(json.dumps({"Consortium": "0x1234"}))
    code, _, err = _trace(story, broken, "case", "0x" + story.case.hex())
    assert code == 2 and "Consortium" in err
    code, _, err = _trace(story, contracts_file, "case", "0x" + story.case.hex(), "--blob-store",
                          str(tmp_path / "nowhere"))  # fmt: skip
    assert code == 2 and "not an embedded blob store" in err


def test_unreachable_chain_is_exit_5(story: Story, contracts_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "trace",
            "case",
            "0x" + story.case.hex(),
            "--rpc",
            f"http://127.0.0.1:{free_port()}",
            "--contracts",
            str(contracts_file),
        ],
    )
    assert result.exit_code == 5 and "is http://127.0.0.1" in result.stderr


def test_medledger_entry_point_runs_the_audit_cli(story: Story, contracts_file: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "medledger",
        "audit",
        "trace",
        "grant",
        str(story.grant),
        "--rpc",
        story.world.chain.rpc_url,
        "--contracts",
        str(contracts_file),
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert [e["kind"] for e in json.loads(done.stdout)["events"]][-1] == "GrantRevoked"
