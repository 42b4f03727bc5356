"""The hospital node end to end against a real chain process (``medledger ledger run``).

Measured, in one run:

- ``end_to_end``: small FHIR records/s through the real node process (``medledger node
  run``, HTTP API, group commit) to on-chain finality, for NDJSON bulk imports of >= 10k
  records and for concurrent single-record requests, with CPU seconds of the node, the chain
  and the client process and the chain bytes per record (see :mod:`bench._node_e2e`);
- ``growth``: the same bulk path at 1k, 10k and 100k records (the node's outbox grows);
- ``ingest_stages``: milliseconds per small record of each ingest stage, alone (parse,
  validate, canonicalize, hash, pseudonym, encrypt, group wrap, blob ``put_many``, outbox
  ``append_many``, ``form_batch``) and the blob store's share of their sum (see
  :mod:`bench._node_stages`); the end-to-end bulk runs are made with sealing in the node
  process and on 2 worker processes (``ingest_workers``); growth uses the faster of the two
  in the same run;
- ``dicom``: MB/s of DICOM studies ingested (pydicom's bundled samples, re-UID'd);
- ``anchoring``: records/s the chain side anchors when records are already queued
  (synthetic entries appended in one transaction), and chain bytes per record for batch
  sizes 16, 256 and 4096.

The chain runs as its own process with 100 ms block interval; everything shares the 2 cores.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from hexbytes import HexBytes

from bench import _node_e2e, _node_stages
from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry
from node.anchor.outbox import Outbox
from node.bootstrap import current_public_key, open_blobs, open_parts, signing_account
from node.config import AnchorSettings, load_config, write_config
from node.formats.dicom import read_study
from node.ingest.adapters import BlobPayloadStore, PublicKeyWrapper, StreamCipher
from node.ingest.study import ingest_dicom_study
from node.pseudonym import ConsortiumPseudonymizer
from node.service import NodeParts, NodeService
from node.typing import CID, ContentHash, PatientPseudonym
from tests.integration.node_service_proc import start_node_service
from tests.integration.nodeproc import PASSPHRASE
from tests.node.chain_env import CONSORTIUM_SECRET, SECRET_ENV, ChainEnv, start_chain_env
from tests.node.dicom_samples import derived_instance

N_E2E = int(os.environ.get("BENCH_NODE_E2E", "20000"))
N_SINGLES = int(os.environ.get("BENCH_NODE_SINGLES", "3000"))
GROWTH = tuple(int(x) for x in os.environ.get("BENCH_NODE_GROWTH", "1000,10000,100000").split(","))


def _obs(i: int) -> bytes:
    return json.dumps({
        "resourceType": "Observation", "status": "final", "code": {"text": "heart rate"},
        "subject": {"reference": f"Patient/P-{i % 97}"}, "valueQuantity": {"value": i},
    }).encode()  # fmt: skip


def _wait_anchored(outbox: Outbox, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if outbox.pending_count() == 0 and outbox.open_batch() is None:
            return
        time.sleep(0.01)
    raise TimeoutError("records not anchored in time")


def _dicom(env: ChainEnv, tmp: Path) -> dict[str, Any]:
    cfg = env.config()
    node = NodeService(open_parts(cfg))
    total_bytes, elapsed = 0, 0.0
    for study in range(3):
        folder = tmp / f"study{study}"
        uid = f"1.2.826.0.1.3680043.8.498.9{study}"
        for i, sample in enumerate(
            ["CT_small.dcm", "MR_small.dcm", "examples_overlay.dcm", "examples_palette.dcm"] * 4
        ):
            data = derived_instance(sample, series=f"{uid}.{i % 3}", sop=f"{uid}.{i % 3}.{i}",
                                    study=uid)  # fmt: skip
            (folder / f"{i}.dcm").parent.mkdir(parents=True, exist_ok=True)
            (folder / f"{i}.dcm").write_bytes(data)
            total_bytes += len(data)
        start = time.perf_counter()
        ingest_dicom_study(services=node.ingest_services(), study=read_study(folder))
        elapsed += time.perf_counter() - start
    return {"studies": 3, "bytes": total_bytes, "mb_per_s": total_bytes / elapsed / 1e6}


def _synthetic(n: int, seed: int) -> list[tuple[AnchorEntry, list[CID]]]:
    wrapped = b"\x01" + os.urandom(84)
    out: list[tuple[AnchorEntry, list[CID]]] = []
    for i in range(n):
        rid = RecordId(os.urandom(32))
        entry = AnchorEntry(rid, RecordKind.RECORD, PatientPseudonym(os.urandom(32)),
                            ContentHash(os.urandom(32)), os.urandom(16),
                            CID(f"bafkrei-synthetic-{seed}-{i}"), wrapped)  # fmt: skip
        out.append((entry, []))
    return out


def _chain_bytes(env: ChainEnv, outbox_path: Path) -> tuple[int, int]:
    from contracts.deploy import connect

    w3 = connect(env.chain.url)
    db = Outbox(outbox_path)._db
    txs = [HexBytes(r[0]) for r in db.execute("SELECT tx_hash FROM batches")]
    total = 0
    for tx in txs:
        total += len(w3.eth.get_transaction(tx)["input"])
        for log in w3.eth.get_transaction_receipt(tx)["logs"]:
            total += 32 * len(log["topics"]) + len(log["data"])
    return total, len(txs)


def _anchor_queued(env: ChainEnv, tmp: Path, *, records: int, batch_size: int) -> dict[str, Any]:
    cfg = env.config()
    full = open_parts(cfg, account=signing_account(cfg, PASSPHRASE))
    outbox_path = tmp / f"outbox-{records}-{batch_size}.sqlite"
    outbox = Outbox(outbox_path)
    for chunk in range(0, records, 10_000):
        outbox.append_many(_synthetic(min(10_000, records - chunk), chunk))
    parts = NodeParts(
        outbox_path=outbox_path,
        pseudonymizer=ConsortiumPseudonymizer(bytes.fromhex(CONSORTIUM_SECRET)),
        cipher=StreamCipher(),
        store=BlobPayloadStore(open_blobs(cfg), journal=tmp / "journal.sqlite"),
        wrapper=PublicKeyWrapper(current_public_key(cfg)),
        sink=full.sink,
        anchor=AnchorSettings(batch_size=batch_size, interval_s=0.05),
    )
    node = NodeService(parts)
    start = time.perf_counter()
    node.start()
    try:
        _wait_anchored(outbox, timeout=1800)
    finally:
        node.stop()
    elapsed = time.perf_counter() - start
    chain_bytes, txs = _chain_bytes(env, outbox_path)
    return {
        "records": records,
        "batch_size": batch_size,
        "transactions": txs,
        "records_per_s": records / elapsed,
        "chain_bytes": chain_bytes,
        "chain_bytes_per_record": chain_bytes / records,
    }


def _with_workers(env: ChainEnv, workers: int) -> None:
    """Rewrite the node's config with ``ingest_workers`` (processes that seal bulk imports)."""
    settings = load_config(env.config_path).settings
    write_config(env.config_path, settings.model_copy(update={"ingest_workers": workers}))


def _through_processes(env: ChainEnv) -> dict[str, Any]:
    """End to end in the node process, sealing in-process and on 2 worker processes.

    The growth series then runs with whichever of the two was faster in this run.
    """
    runs: list[dict[str, Any]] = []
    offset = 10**6
    for workers in (0, 2):
        _with_workers(env, workers)
        node = start_node_service(env.config_path)
        try:
            runs.append({**_node_e2e.bulk(env, node, records=N_E2E, offset=offset),
                         "ingest_workers": workers})  # fmt: skip
            offset += 10**6
            if workers == 0:
                runs.append({**_node_e2e.singles(env, node, records=N_SINGLES, offset=offset),
                             "ingest_workers": workers})  # fmt: skip
                offset += 10**6
        finally:
            node.stop()
    bulk_runs = [r for r in runs if r["path"] == "bulk NDJSON"]
    best = max(bulk_runs, key=lambda r: r["records_per_s"])["ingest_workers"]
    _with_workers(env, best)
    node = start_node_service(env.config_path)
    try:
        growth = []
        for n in GROWTH:
            growth.append({**_node_e2e.bulk(env, node, records=n, offset=offset),
                           "ingest_workers": best})  # fmt: skip
            offset += 10**6
    finally:
        node.stop()
    return {"end_to_end": runs, "growth": growth}


def run() -> dict[str, Any]:
    os.environ[SECRET_ENV] = CONSORTIUM_SECRET
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = start_chain_env(tmp / "env", batch_size=4096, interval_s=0.2)
        try:
            # The node process first: it and the in-process parts below sign with the same
            # account, so they must not anchor at the same time.
            result: dict[str, Any] = _through_processes(env)
            result["ingest_stages"] = _node_stages.stages(env.config())
            result["dicom"] = _dicom(env, tmp)
            result["anchoring"] = [
                _anchor_queued(env, tmp, records=records, batch_size=bs)
                for bs, records in ((16, 1024), (256, 4096), (4096, 16384))
            ]
        finally:
            env.chain.stop(signal.SIGTERM)
    return result
