"""Exactly-once anchoring with real processes: ``kill -9`` the node while it ingests and anchors.

Clients post records over HTTP (two posting single records, which the node coalesces into
commit groups, one posting NDJSON bulk imports) while the node's drain thread anchors
batches; the node process is killed with SIGKILL at random moments (some while requests
are in flight, some after ingest stopped, while only anchoring runs), then restarted. In
the end every acknowledged record is anchored, and every record's leaf appears in exactly
one ``BatchAnchored`` batch on chain (counted from the events and their manifests).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from keys.typing import RecordId
from node.anchor.outbox import Outbox
from node.blobstore.embedded import EmbeddedBlobStore
from node.bootstrap import chain_client
from node.formats.batch_manifest import decode_manifest
from tests.integration.node_service_proc import start_node_service, wait_all_anchored
from tests.node.chain_env import CONSORTIUM_SECRET, SECRET_ENV, ChainEnv, start_chain_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainEnv]:
    os.environ[SECRET_ENV] = CONSORTIUM_SECRET
    chain_env = start_chain_env(tmp_path_factory.mktemp("once"), batch_size=4, interval_s=0.1)
    try:
        yield chain_env
    finally:
        chain_env.stop()


def _record(n: int) -> bytes:
    return json.dumps({
        "resourceType": "Observation", "status": "final", "code": {"text": "glucose"},
        "subject": {"reference": f"Patient/P-{n % 7}"}, "valueQuantity": {"value": n},
    }).encode()  # fmt: skip


class Poster(threading.Thread):
    """Posts new records until stopped or the node dies; keeps the acknowledged ids.

    With ``bulk`` it posts NDJSON imports of ``bulk`` records (the group-commit path);
    without, single records (which the node coalesces with other requests in flight).
    """

    def __init__(self, url_client: httpx.Client, start_at: int, acked: set[str],
                 bulk: int = 0) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.http = url_client
        self.n = start_at
        self.acked = acked
        self.bulk = bulk
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                if self.bulk:
                    body = b"\n".join(_record(self.n + i) for i in range(self.bulk))
                    r = self.http.post("/records/fhir/bulk", content=body)
                else:
                    r = self.http.post("/records/fhir", content=_record(self.n))
            except httpx.HTTPError:
                return  # the node was killed mid-request: not acknowledged
            self.n += max(self.bulk, 1)
            if r.status_code == 201:
                got = r.json()
                self.acked.update(x["record_id"] for x in got.get("records", [got]))


def test_kill9_during_ingest_and_anchoring_anchors_every_acknowledged_record_exactly_once(
    env: ChainEnv,
) -> None:
    rng = random.Random(20261123)
    acked: set[str] = set()
    counter = 0
    kills = 0
    open_at_kill = 0  # kills that interrupted a batch between forming and anchored
    for round_ in range(6):
        node = start_node_service(env.config_path)
        posters = [Poster(node.client(), counter + k * 10**6, acked) for k in range(2)]
        posters.append(Poster(node.client(), counter + 2 * 10**6, acked, bulk=10))
        for poster in posters:
            poster.start()
        time.sleep(rng.uniform(0.3, 1.0))
        if round_ % 2 == 1:  # stop ingesting first: the kill lands while only anchoring runs
            for poster in posters:
                poster.halt.set()
                poster.join(30)
            time.sleep(rng.uniform(0.0, 0.3))
        node.kill9()
        kills += 1
        box = Outbox(env.config().outbox_path)
        open_at_kill += box.open_batch() is not None
        box.close()
        for poster in posters:
            poster.halt.set()
            poster.join(30)
        counter += 10**7  # never reuse content across rounds
    assert kills == 6 and len(acked) > 20
    assert open_at_kill >= 1, "no kill landed while a batch was on its way to the chain"

    node = start_node_service(env.config_path)
    try:
        with node.client() as http:
            wait_all_anchored(http, sorted(acked), timeout=120)
    finally:
        assert node.stop() == 0

    cfg = env.config()
    outbox = Outbox(cfg.outbox_path)
    entries = {rid.hex(): outbox.entry(rid) for rid in outbox.record_ids()}
    assert acked <= entries.keys()  # every acknowledged record survived every kill
    for rid in entries:
        assert outbox.state(RecordId(bytes.fromhex(rid))).value == "anchored"

    sink_chain = chain_client(cfg)
    events = sink_chain.contract("Anchors").events.BatchAnchored.get_logs(from_block=0)
    ours = [e for e in events if e["args"]["hospital"] == env.hospital]
    roots = [bytes(e["args"]["root"]) for e in ours]
    assert len(roots) == len(set(roots))
    blobs = EmbeddedBlobStore(cfg.path("blobs"))
    leaves: Counter[bytes] = Counter()
    for e in ours:
        root, commitments = decode_manifest(b"".join(blobs.get(e["args"]["manifestCid"])))
        assert root == bytes(e["args"]["root"]) and len(commitments) == e["args"]["count"]
        leaves.update(commitments)
    expected = Counter(entry.commitment() for entry in entries.values())
    assert leaves == expected  # each record's leaf anchored once, no other leaf, none twice
    assert sum(e["args"]["count"] for e in ours) == len(entries)
