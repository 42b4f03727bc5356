"""Group ingest (seal + commit_group, NDJSON bulk, the API's group-committed paths) on the
real stack: keys.stream, HPKE to the keystore's key, the embedded blob store with its real
durability barrier, the SQLite outbox."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from keys.envelope_group import GROUP_WRAPPED_SIZE
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry
from node.anchor.outbox import Outbox
from node.api.app import create_app
from node.bootstrap import open_parts
from node.config import LoadedConfig, NodeSettings, load_config, write_config
from node.exceptions import InvalidFhir
from node.formats.fhir import parse_fhir
from node.ingest.adapters import KeyringWrapper, StreamCipher
from node.ingest.bulk import parse_ndjson
from node.ingest.core import DEK_AD, PAYLOAD_AD, seal
from node.ingest.group import commit_group
from node.service import NodeService
from node.typing import CID
from tests.node.chain_env import API_TOKEN, PASSPHRASE, new_hospital_keystore

ZERO = "0x" + "00" * 20
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def obs(i: int, patient: str = "MRN-7") -> bytes:
    return json.dumps({
        "resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
        "subject": {"reference": f"Patient/{patient}"}, "valueQuantity": {"value": i},
    }).encode()  # fmt: skip


def _config(tmp_path: Path, **extra: object) -> LoadedConfig:
    new_hospital_keystore(tmp_path / "keystore")
    (tmp_path / "secret.hex").write_text("cd" * 32)
    settings = NodeSettings.model_validate({
        "contracts": {"consortium": ZERO, "anchors": ZERO, "referrals": ZERO, "grants": ZERO},
        "consortium_secret": {"env": None, "file": "secret.hex"},
        "api": {"token_sha256": hashlib.sha256(API_TOKEN.encode()).hexdigest(),
                "max_bulk_bytes": 64 * 1024},
        **extra,
    })  # fmt: skip
    write_config(tmp_path / "node.json", settings)
    return load_config(tmp_path / "node.json")


@pytest.fixture
def cfg(tmp_path: Path) -> LoadedConfig:
    return _config(tmp_path)


@pytest.fixture
def api(cfg: LoadedConfig) -> Iterator[tuple[TestClient, NodeService]]:
    service = NodeService(open_parts(cfg))
    with TestClient(create_app(service, api=cfg.settings.api)) as client:
        yield client, service


def _pins(service: NodeService) -> set[CID]:
    return service.parts.store.blobs.pins()


def _plaintext(cfg: LoadedConfig, service: NodeService, entry: AnchorEntry) -> bytes:
    from keys.keystore import Keystore

    keyring = Keystore.open(cfg.path(cfg.settings.keystore_dir)).load_keyring(PASSPHRASE)
    dek = KeyringWrapper(keyring).unwrap(
        entry.wrapped_key, associated_data=DEK_AD + entry.record_id
    )
    ciphertext = b"".join(service.parts.store.blobs.get(entry.cid))
    ad = PAYLOAD_AD + entry.record_id + entry.content_hash
    return StreamCipher.decrypt(data_key=dek, ciphertext=ciphertext, associated_data=ad)


def test_bulk_ndjson_is_queued_readable_by_this_hospital_and_idempotent(
    api: tuple[TestClient, NodeService], cfg: LoadedConfig
) -> None:
    client, service = api
    lines = [obs(i, patient=f"MRN-{i % 3}") for i in range(25)]
    body = b"\n".join(lines) + b"\n\n"  # blank lines are allowed
    first = client.post("/records/fhir/bulk", content=body, headers=AUTH)
    assert first.status_code == 201, first.text
    got = first.json()
    assert got["created"] == 25 and len(got["records"]) == 25
    outbox = service.outbox()
    for line, rec in zip(lines, got["records"], strict=True):
        entry = outbox.entry(RecordId(bytes.fromhex(rec["record_id"])))
        assert entry.cid == rec["cid"]
        assert len(entry.wrapped_key) == GROUP_WRAPPED_SIZE  # one HPKE seal for the group
        assert _plaintext(cfg, service, entry) == parse_fhir(line).canonical
    pins = _pins(service)
    again = client.post("/records/fhir/bulk", content=body, headers=AUTH).json()
    assert again["created"] == 0
    assert [r["record_id"] for r in again["records"]] == [r["record_id"] for r in got["records"]]
    assert _pins(service) == pins  # the retry's new ciphertexts were discarded


def test_one_bad_line_refuses_the_whole_import_and_stores_nothing(
    api: tuple[TestClient, NodeService],
) -> None:
    client, service = api
    body = b"\n".join([obs(1), obs(2), b'{"resourceType": "Observation"}', obs(4)])
    r = client.post("/records/fhir/bulk", content=body, headers=AUTH)
    assert r.status_code == 422 and "line 3" in r.json()["detail"]
    assert service.outbox().record_ids() == [] and _pins(service) == set()
    assert client.post("/records/fhir/bulk", content=b"\n \n", headers=AUTH).status_code == 422
    big = client.post("/records/fhir/bulk", content=b" " * 70_000, headers=AUTH)
    assert big.status_code == 413


def test_concurrent_single_requests_are_all_acknowledged_through_the_committer(
    api: tuple[TestClient, NodeService],
) -> None:
    client, service = api
    ids: list[str] = []

    def post(i: int) -> None:
        r = client.post("/records/fhir", content=obs(100 + i), headers=AUTH)
        assert r.status_code == 201
        ids.append(r.json()["record_id"])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(set(ids)) == 12
    assert {r.hex() for r in service.outbox().record_ids()} == set(ids)
    assert 1 <= service.committer.groups <= 12


def test_duplicates_inside_one_group_become_one_record(cfg: LoadedConfig) -> None:
    service = NodeService(open_parts(cfg))
    payloads = parse_ndjson(b"\n".join([obs(1), obs(2), obs(1)]))
    parts = service.seal_parts()
    sealed = [seal(parts=parts, kind=p.kind, canonical=p.canonical, local_patient_id=p.patient_id)
              for p in payloads]  # fmt: skip
    receipts = commit_group(store=service.parts.store, outbox=service.outbox(), records=sealed)
    assert [r.created for r in receipts] == [True, True, False]
    assert receipts[2].record_id == receipts[0].record_id and receipts[2].cid == receipts[0].cid
    assert _pins(service) == {receipts[0].cid, receipts[1].cid}


class FullDiskOutbox(Outbox):
    """STAND-IN for a disk that fills up during the outbox commit (cannot be made to happen
    reliably here): the real outbox whose group append fails."""

    def append_many(
        self, items: Sequence[tuple[AnchorEntry, object]]
    ) -> list[tuple[RecordId, bool]]:  # type: ignore[override]
        raise OSError("disk full")


def test_a_failed_outbox_commit_acknowledges_nothing_and_discards_the_ciphertexts(
    cfg: LoadedConfig,
) -> None:
    service = NodeService(open_parts(cfg))
    parts = service.seal_parts()
    sealed = [seal(parts=parts, kind=p.kind, canonical=p.canonical, local_patient_id=p.patient_id)
              for p in parse_ndjson(b"\n".join([obs(1), obs(2)]))]  # fmt: skip
    broken = FullDiskOutbox(cfg.outbox_path)
    with pytest.raises(OSError, match="disk full"):
        commit_group(store=service.parts.store, outbox=broken, records=sealed)
    assert broken.record_ids() == [] and _pins(service) == set()


def test_ndjson_errors_name_the_line_and_limits_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidFhir, match=r"line 2: .*nothing was imported"):
        parse_ndjson(obs(1) + b"\nnot json\n")
    monkeypatch.setattr("node.ingest.bulk.MAX_BULK_RECORDS", 2)
    with pytest.raises(InvalidFhir, match="at most 2 records"):
        parse_ndjson(b"\n".join([obs(1), obs(2), obs(3)]))


def test_cli_ingest_bulk_queues_a_file_and_refuses_a_bad_one_whole(
    cfg: LoadedConfig, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from node.cli.app import app

    runner = CliRunner()
    good = tmp_path / "good.ndjson"
    good.write_bytes(b"\n".join(obs(i) for i in range(5)))
    args = ["ingest-bulk", str(good), "--config", str(cfg.path("node.json")), "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["created"] == 5
    again = runner.invoke(app, args)
    assert json.loads(again.output)["created"] == 0
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(obs(9) + b"\n{}")
    refused = runner.invoke(app, ["ingest-bulk", str(bad), "--config", str(cfg.path("node.json"))])
    assert refused.exit_code == 2 and "line 2" in refused.output
    box = Outbox(cfg.outbox_path)
    assert len(box.record_ids()) == 5  # nothing of the refused file
    box.close()


def test_bulk_on_worker_processes_seals_records_this_hospital_can_read(tmp_path: Path) -> None:
    cfg = _config(tmp_path, ingest_workers=1)
    service = NodeService(open_parts(cfg))
    try:
        with pytest.raises(InvalidFhir, match="line 3"):
            service.ingest_ndjson(b"\n".join([obs(1), obs(2), b'{"resourceType": "Nope"}']))
        assert service.outbox().record_ids() == []
        lines = [obs(i) for i in range(6)]
        receipts = service.ingest_ndjson(b"\n".join(lines))
        assert [r.created for r in receipts] == [True] * 6
        for line, receipt in zip(lines, receipts, strict=True):
            entry = service.outbox().entry(receipt.record_id)
            assert _plaintext(cfg, service, entry) == parse_fhir(line).canonical
    finally:
        service.stop()
