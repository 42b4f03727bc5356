"""The hospital node end to end against a real chain process (``medledger ledger run``).

Measured, in one run:

- ``ingest``: small FHIR records/s through the production ingest path (RFC 8785, STREAM
  AES-GCM, HPKE wrap, embedded blob store with fsync, outbox commit with fsync), one thread;
- ``end_to_end``: records/s from the first ingest until the last record's batch is final on
  chain, with the node's drain thread anchoring while ingest runs;
- ``dicom``: MB/s of DICOM studies ingested (pydicom's bundled samples, re-UID'd);
- ``anchoring``: records/s the chain side anchors when records are already queued
  (synthetic entries appended in one transaction), and chain bytes per record (transaction
  input + log topics and data, divided by records) for batch sizes 16, 256 and 4096;
- ``growth``: the same at 1k, 10k and 100k queued records (batch 4096).

The chain runs as its own process with 100 ms block interval; everything shares the 2 cores.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from hexbytes import HexBytes

from node.adapters import BlobPayloadStore, PublicKeyWrapper, StreamCipher
from node.bootstrap import current_public_key, open_blobs, open_parts, signing_account
from node.config import AnchorSettings
from node.dicom import read_study
from node.entry import AnchorEntry, RecordKind
from node.fhir import parse_fhir
from node.ingest import ingest_dicom_study, ingest_fhir
from node.outbox import Outbox
from node.pseudonym import ConsortiumPseudonymizer
from node.service import NodeParts, NodeService
from node.typing import CID, ContentHash, PatientPseudonym, RecordId
from tests.integration.nodeproc import PASSPHRASE
from tests.node.chain_env import CONSORTIUM_SECRET, SECRET_ENV, ChainEnv, start_chain_env
from tests.node.dicom_samples import derived_instance

N_INGEST = int(os.environ.get("BENCH_NODE_INGEST", "400"))
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


def _ingest(env: ChainEnv, *, threads: int, offset: int) -> dict[str, Any]:
    """Ingest ``N_INGEST`` records on ``threads`` threads (as concurrent API requests do)."""
    cfg = env.config()
    node = NodeService(open_parts(cfg))
    per = N_INGEST // threads

    def work(t: int) -> None:
        services = node.ingest_services()
        for i in range(per):
            ingest_fhir(services=services, raw=_obs(offset + t * per + i))

    start = time.perf_counter()
    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.perf_counter() - start
    return {"records": per * threads, "threads": threads, "records_per_s": per * threads / elapsed}


def _stages(env: ChainEnv) -> dict[str, float]:
    """Milliseconds per small record of each ingest stage, timed alone (where the time goes)."""
    cfg = env.config()
    parts = open_parts(cfg)
    n = 100
    raws = [_obs(5 * 10**7 + i) for i in range(n)]
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any) -> list[Any]:
        start = time.perf_counter()
        out = [fn(i) for i in range(n)]
        timings[name] = (time.perf_counter() - start) / n * 1e3
        return out

    payloads = timed("parse_validate_canonicalize_ms", lambda i: parse_fhir(raws[i]))
    dek = parts.cipher.new_data_key()
    cts = timed("encrypt_ms", lambda i: parts.cipher.encrypt(
        data_key=dek, plaintext=payloads[i].canonical, associated_data=b"ad"))  # fmt: skip
    timed("wrap_hpke_ms", lambda i: parts.wrapper.wrap(dek, associated_data=b"ad" * 16))
    timed("blob_put_fsync_ms", lambda i: parts.store.put(cts[i]))
    outbox = Outbox(tmp_outbox := cfg.data_dir / "stages.sqlite")
    entries = _synthetic(n, 77)
    timed("outbox_append_fsync_ms", lambda i: outbox.append(entries[i][0]))
    outbox.close()
    tmp_outbox.unlink()
    return timings


def _end_to_end(env: ChainEnv) -> dict[str, Any]:
    cfg = env.config()
    node = NodeService(open_parts(cfg, account=signing_account(cfg, PASSPHRASE)))
    node.start()
    try:
        services = node.ingest_services()
        start = time.perf_counter()
        for i in range(N_INGEST):
            ingest_fhir(services=services, raw=_obs(10**6 + i))
        ingested = time.perf_counter() - start
        node.notify()
        _wait_anchored(node.outbox())
        total = time.perf_counter() - start
    finally:
        node.stop()
    return {
        "records": N_INGEST,
        "batch_size": cfg.settings.anchor.batch_size,
        "ingest_s": ingested,
        "until_final_s": total,
        "records_per_s": N_INGEST / total,
    }


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
        entry = AnchorEntry(rid, RecordKind.FHIR, PatientPseudonym(os.urandom(32)),
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


def run() -> dict[str, Any]:
    os.environ[SECRET_ENV] = CONSORTIUM_SECRET
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = start_chain_env(tmp / "env", batch_size=4096, interval_s=0.2)
        try:
            result: dict[str, Any] = {
                "ingest": [_ingest(env, threads=t, offset=t * 10**7) for t in (1, 4)],
                "ingest_stages": _stages(env),
                "end_to_end": _end_to_end(env),
            }
            result["dicom"] = _dicom(env, tmp)
            result["anchoring"] = [
                _anchor_queued(env, tmp, records=max(4 * bs, 4096), batch_size=bs)
                for bs in (16, 256, 4096)
            ]
            result["growth"] = [
                _anchor_queued(env, tmp, records=n, batch_size=4096) for n in GROWTH
            ]
        finally:
            env.chain.stop(signal.SIGTERM)
    return result
