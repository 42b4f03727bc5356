"""Where the time of one small FHIR record goes: each ingest stage timed alone, per record.

Stages of the bulk path (what ``POST /records/fhir/bulk`` does per record), in order:
``json_load`` (strict JSON), ``validate`` (``fhir.resources`` model), ``canonicalize``
(RFC 8785), ``content_hash``, ``pseudonym``, ``encrypt`` (fresh data key + STREAM AES-GCM),
``wrap_group`` (the data key under the group KEK; the KEK's one HPKE seal per group of
:data:`GROUP` included), then per group ``blob_put_many`` (the blob store, one barrier) and
``outbox_append_many`` (one SQLite transaction, ``synchronous=FULL``) and, on the drain
side, ``form_batch`` (Merkle tree, every proof, one transaction for a 4,096-record batch).
``seal`` is the whole CPU part as the node runs it (pseudonym .. wrap), for comparison with
the sum. ``wrap_hpke_single`` is the per-record HPKE wrap that single-record requests still
use (and bulk used before group wrapping); ``blob_put_fsync`` and ``outbox_append_fsync``
are the single-record durability costs. ``blob_store_share`` is ``blob_put_many`` over the
sum of the bulk stages: the part of the per-record cost that belongs to the blob store.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry
from node.anchor.outbox import Outbox
from node.bootstrap import open_parts
from node.config import LoadedConfig
from node.formats.fhir import parse_fhir
from node.formats.fhir_json import canonical_bytes, load_strict_json
from node.ingest.core import DEK_AD, PAYLOAD_AD, SealParts, seal
from node.typing import CID, ContentHash, PatientPseudonym

GROUP = 1024
BULK_STAGES = (
    "json_load_ms", "validate_ms", "canonicalize_ms", "content_hash_ms", "pseudonym_ms",
    "encrypt_ms", "wrap_group_ms", "blob_put_many_ms", "outbox_append_many_ms", "form_batch_ms",
)  # fmt: skip


def obs(i: int) -> bytes:
    return json.dumps({
        "resourceType": "Observation", "status": "final", "code": {"text": "heart rate"},
        "subject": {"reference": f"Patient/P-{i % 97}"}, "valueQuantity": {"value": i},
    }).encode()  # fmt: skip


def synthetic(n: int, seed: int) -> list[tuple[AnchorEntry, list[CID]]]:
    """Outbox entries with random fields (what anchoring sees; nothing to decrypt)."""
    wrapped = b"\x02" + os.urandom(144)
    out: list[tuple[AnchorEntry, list[CID]]] = []
    for i in range(n):
        cid = CID(f"bafkrei-synthetic-{seed}-{i}")
        entry = AnchorEntry(RecordId(os.urandom(32)), RecordKind.RECORD,
                            PatientPseudonym(os.urandom(32)), ContentHash(os.urandom(32)),
                            os.urandom(16), cid, wrapped)  # fmt: skip
        out.append((entry, []))
    return out


def _per_record(n: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return (time.perf_counter() - start) / n * 1e3, out


def stages(cfg: LoadedConfig, *, groups: int = 4) -> dict[str, float]:
    """Milliseconds per record of each stage, over ``groups`` groups of :data:`GROUP`."""
    parts = open_parts(cfg)
    seal_parts = SealParts(parts.pseudonymizer, parts.cipher, parts.wrapper)
    n = GROUP * groups
    raws = [obs(7 * 10**7 + i) for i in range(n)]
    for raw in raws[:64]:  # warm-up: model classes, caches
        parse_fhir(raw)
    t: dict[str, float] = {}
    t["json_load_ms"], docs = _per_record(n, lambda: [load_strict_json(r) for r in raws])
    model = get_fhir_model_class("Observation")
    t["validate_ms"], _ = _per_record(n, lambda: [model.model_validate(d) for d in docs])
    t["canonicalize_ms"], canon = _per_record(n, lambda: [canonical_bytes(d) for d in docs])
    t["content_hash_ms"], hashes = _per_record(
        n, lambda: [hashlib.sha256(c).digest() for c in canon]
    )
    t["pseudonym_ms"], _ = _per_record(
        n, lambda: [parts.pseudonymizer.pseudonym(f"P-{i % 97}") for i in range(n)]
    )
    ids = [os.urandom(32) for _ in range(n)]

    def encrypt() -> list[tuple[bytes, bytes]]:
        out = []
        for rid, c, h in zip(ids, canon, hashes, strict=True):
            dek = parts.cipher.new_data_key()
            ct = parts.cipher.encrypt(
                data_key=dek, plaintext=c, associated_data=PAYLOAD_AD + rid + h
            )
            out.append((dek, ct))
        return out

    t["encrypt_ms"], sealed = _per_record(n, encrypt)

    def wrap_group() -> None:
        for g in range(groups):
            wrapper = parts.wrapper.for_group()
            for i in range(g * GROUP, (g + 1) * GROUP):
                wrapper.wrap(sealed[i][0], associated_data=DEK_AD + ids[i])

    t["wrap_group_ms"], _ = _per_record(n, wrap_group)
    few = 100
    t["wrap_hpke_single_ms"], _ = _per_record(few, lambda: [
        parts.wrapper.wrap(sealed[i][0], associated_data=DEK_AD + ids[i]) for i in range(few)
    ])  # fmt: skip
    payloads = [parse_fhir(r) for r in raws]

    def seal_all() -> None:
        for g in range(groups):
            group = seal_parts.for_group()
            for p in payloads[g * GROUP : (g + 1) * GROUP]:
                seal(parts=group, kind=p.kind, canonical=p.canonical, local_patient_id=p.patient_id)

    t["seal_ms"], _ = _per_record(n, seal_all)
    ciphertexts = [ct for _, ct in sealed]
    t["blob_put_many_ms"], _ = _per_record(n, lambda: [
        parts.store.put_many(ciphertexts[g * GROUP : (g + 1) * GROUP]) for g in range(groups)
    ])  # fmt: skip
    path = Path(cfg.data_dir) / "stages-outbox.sqlite"
    outbox = Outbox(path)
    entries = [synthetic(GROUP, 100 + g) for g in range(groups)]
    t["outbox_append_many_ms"], _ = _per_record(n, lambda: [outbox.append_many(e) for e in entries])
    t["form_batch_ms"], _ = _per_record(
        n, lambda: [outbox.form_batch(4096) for _ in range(groups // 4 or 1)]
    )
    fresh = [parts.cipher.encrypt(data_key=sealed[i][0], plaintext=canon[i], associated_data=b"x")
             for i in range(few)]  # fmt: skip
    t["blob_put_fsync_ms"], _ = _per_record(few, lambda: [parts.store.put(c) for c in fresh])
    single = synthetic(few, 99)
    t["outbox_append_fsync_ms"], _ = _per_record(few, lambda: [outbox.append(e) for e, _ in single])
    outbox.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    total = sum(t[k] for k in BULK_STAGES)
    t["bulk_stages_sum_ms"] = total
    t["blob_store_share"] = t["blob_put_many_ms"] / total
    return t
