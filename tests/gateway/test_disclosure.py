"""Disclosure accounting over the HTTP layer: every item served appends one chained entry.

The case store is the ``FileCaseStore`` stand-in (re-hashes pydicom's sample files like the
node's verified store) and the auditor registry a table (``tests/gateway/audit/fakes.py``);
the log is the real SQLite one in a temporary directory. The chain anchor is tested on a
real chain in ``tests/integration/test_disclosure_chain.py``; here anchors are ``None``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.audit.model import Trace
from gateway.container import Services
from gateway.disclosure.anchor import Anchorer, Policy
from gateway.disclosure.entry import GENESIS, Kind, Served, instance_ref
from gateway.disclosure.log import SqliteDisclosureLog
from gateway.memory import MemorySessionStore
from tests.gateway.audit.apps import sign_in
from tests.gateway.audit.fakes import TableAuditTrail
from tests.gateway.conftest import Clock, Gateway, make_settings
from tests.gateway.dicom_files import Files, make_files
from tests.gateway.fakes import DictAuditSource, FileCaseStore, TableChainView
from tests.gateway.redeemed import G1, seed_redeemed_case


@dataclass
class World:
    gateway: Gateway
    log: SqliteDisclosureLog
    path: Path
    files: Files
    physician: LocalAccount
    reader: dict[str, str]
    auditor: dict[str, str]
    trail: TableAuditTrail


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("disclosure")
    files = make_files(root)
    settings = make_settings()
    chain, cases, sessions, clock = TableChainView(), FileCaseStore(), MemorySessionStore(), Clock()
    auditor: LocalAccount = Account.create()
    trail = TableAuditTrail(auditors={auditor.address})
    log = SqliteDisclosureLog(root / "disclosures.sqlite")
    audit = DictAuditSource()
    services = Services(chain=chain, cases=cases, sessions=sessions, audit=audit, trail=trail,
                        clock=clock, disclosures=Anchorer(log, None, Policy()))  # fmt: skip
    app = create_app(services=services, settings=settings)
    physician: LocalAccount = Account.create()
    with TestClient(app) as client:
        gateway = Gateway(settings, chain, cases, sessions, audit, clock, client, app)
        token = seed_redeemed_case(gateway, physician, files)
        signed = sign_in(client, auditor)
        assert signed.status_code == 200, signed.text
        yield World(gateway, log, root / "disclosures.sqlite", files, physician,
                    {"Authorization": f"Bearer {token}"},
                    {"Authorization": f"Bearer {signed.json()['token']}"}, trail)  # fmt: skip
    log.close()


def _new_entries(world: World, since: int) -> list[tuple[str, str, str, int]]:
    return [(e.kind, e.grant, e.instance, e.size) for e in world.log.entries()[since:]]


def _ct(world: World) -> list[tuple[str, str, str]]:
    headers = world.gateway.cases.list_instances(grants={G1})
    return sorted((h.study_uid, h.series_uid, h.sop_uid) for h in headers
                  if h.dataset.Modality == "CT")  # fmt: skip


def test_each_instance_of_a_study_retrieve_is_one_entry_before_its_part(world: World) -> None:
    before = world.log.head()[0]
    study, series, _ = _ct(world)[0]
    response = world.gateway.client.get(f"/dicomweb/studies/{study}", headers=world.reader)
    assert response.status_code == 200
    entries = world.log.entries()[before:]
    sops = [sop for _, _, sop in _ct(world)]
    assert sorted(e.instance for e in entries) == sorted(instance_ref(G1, s).hex() for s in sops)
    assert {e.kind for e in entries} == {"instance"}
    assert {e.physician for e in entries} == {world.physician.address}
    assert {e.grant for e in entries} == {G1.hex()}
    sizes = {p.stat().st_size for p in world.files.ct_series}
    assert {e.size for e in entries} <= sizes  # served as stored (explicit little endian)
    del series


def test_frames_rendered_bulkdata_and_metadata_are_accounted_by_kind(world: World) -> None:
    study, series, sop = _ct(world)[0]
    base = f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"
    before = world.log.head()[0]
    for path in ("/frames/1", "/rendered", "/bulkdata/7FE00010", "/metadata"):
        assert world.gateway.client.get(base + path, headers=world.reader).status_code == 200
    kinds = [k for k, _, _, _ in _new_entries(world, before)]
    assert kinds == ["frame", "rendered", "bulkdata", "metadata"]
    assert {i for _, _, i, _ in _new_entries(world, before)} == {instance_ref(G1, sop).hex()}
    frame, image, bulk, meta = (s for _, _, _, s in _new_entries(world, before))
    assert frame == bulk == 128 * 128 * 2 and image > 0 and meta == 0


def test_a_record_read_is_one_entry_and_a_refused_read_is_none(world: World) -> None:
    client, before = world.gateway.client, world.log.head()[0]
    listed = client.get(f"/cases/0x{G1.hex()}/records", headers=world.reader).json()
    record = listed[0]["record"]
    assert client.get(f"/records/{record}", headers=world.reader).status_code == 200
    ((kind, grant, _, size),) = _new_entries(world, before)
    assert (kind, grant, size) == ("record", G1.hex(), listed[0]["size"])
    assert world.log.entries()[-1].record == record[2:]
    # Outside the session's grants, unauthenticated, unknown: nothing served, nothing logged.
    other = world.files.other_grant
    assert client.get(f"/records/0x{other.name.encode().hex()}", headers=world.reader
                      ).status_code == 404  # fmt: skip
    assert client.get(f"/records/{record}").status_code == 401
    assert world.log.head()[0] == before + 1


def test_the_auditor_lists_by_record_grant_and_physician_and_the_chain_verifies(
    world: World,
) -> None:
    client = world.gateway.client
    assert client.get("/audit/disclosures").status_code == 401
    assert client.get("/audit/disclosures", headers=world.reader).status_code == 401
    everything = client.get("/audit/disclosures", headers=world.auditor).json()
    assert everything["verification"]["ok"] is True
    assert everything["verification"]["count"] == len(everything["entries"]) > 0
    assert everything["anchors"] == []
    mine = client.get("/audit/disclosures", headers=world.auditor,
                      params={"physician": world.physician.address.lower()}).json()  # fmt: skip
    assert len(mine["entries"]) == len(everything["entries"])
    nobody = client.get("/audit/disclosures", headers=world.auditor,
                        params={"physician": "0x" + "ab" * 20}).json()  # fmt: skip
    assert nobody["entries"] == [] and nobody["verification"]["count"] > 0
    by_grant = client.get("/audit/disclosures", headers=world.auditor,
                          params={"grant": "0x" + G1.hex()}).json()  # fmt: skip
    assert len(by_grant["entries"]) == len(everything["entries"])
    paged = client.get("/audit/disclosures", headers=world.auditor,
                       params={"after": 1, "limit": 2}).json()  # fmt: skip
    assert [e["seq"] for e in paged["entries"]] == [2, 3]
    assert paged["verification"]["count"] == everything["verification"]["count"]
    for bad in ({"grant": "0x12"}, {"record": "nothex"}, {"physician": "0x1"},
                {"limit": 0}, {"limit": 10_001}, {"after": -1}):  # fmt: skip
        refused = client.get("/audit/disclosures", headers=world.auditor, params=bad)
        assert refused.status_code == 422
    # No operator account here: anchoring on demand is a clear 503.
    anchor = client.post("/audit/disclosures/anchor", headers=world.auditor)
    assert (anchor.status_code, anchor.json()["error"]) == (503, "disclosure_anchor_failed")


def test_the_grant_trace_shows_the_reads(world: World) -> None:
    trail = world.trail
    grant = int.from_bytes(G1, "big")
    trail.grants[grant] = Trace(subject="grant", id=str(grant), head_block=1, events=[])
    trace = world.gateway.client.get(f"/audit/grants/{grant}/trace", headers=world.auditor)
    assert trace.status_code == 200
    reads = trace.json()["reads"]
    assert [r["seq"] for r in reads] == [e.seq for e in world.log.entries()]
    # The FHIR export carries them as AuditEvents (the bundle is validated by fhir.resources).
    bundle = world.gateway.client.get(f"/audit/grants/{grant}/fhir", headers=world.auditor)
    assert bundle.status_code == 200, bundle.text
    events = [e["resource"] for e in bundle.json()["entry"]]
    assert [e["subtype"][0]["code"] for e in events] == [r["kind"] for r in reads]
    assert {e["action"] for e in events} == {"R"}
    assert {e["type"]["code"] for e in events} >= {"110103"}


def test_no_phi_and_no_uid_in_clear_reaches_the_log_file(world: World) -> None:
    assert world.log.head()[0] > 0
    raw = b"".join(p.read_bytes() for p in world.path.parent.glob("disclosures.sqlite*"))
    import pydicom

    for path in world.files.ct_series:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        for value in (str(ds.PatientName), str(ds.PatientID), ds.SOPInstanceUID,
                      ds.StudyInstanceUID, ds.SeriesInstanceUID):  # fmt: skip
            assert value.encode() not in raw, value


def test_a_log_that_cannot_be_written_refuses_the_read(tmp_path: Path, world: World) -> None:
    broken = SqliteDisclosureLog(tmp_path / "broken.sqlite")
    broken.close()  # every statement now fails: what a full or vanished disk looks like
    study, series, sop = _ct(world)[0]
    app = create_app(services=Services(
        chain=world.gateway.chain, cases=world.gateway.cases, sessions=world.gateway.sessions,
        audit=world.gateway.audit, clock=world.gateway.clock,
        disclosures=Anchorer(broken, None, Policy()),
    ), settings=world.gateway.settings)  # fmt: skip
    with TestClient(app) as client:
        url = f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"
        response = client.get(url, headers=world.reader)
    assert (response.status_code, response.json()["error"]) == (503, "disclosure_log_unavailable")
    assert b"DICM" not in response.content


def _served(n: int) -> Served:
    return Served(kind=Kind.RECORD, grant=bytes([n]) * 32, record=b"\x0a" * 32, instance=None,
                  size=n)  # fmt: skip


def test_a_restarted_log_continues_the_same_chain(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    first = SqliteDisclosureLog(path)
    a = first.append(physician="0xP", served=_served(1), at_ms=1)
    assert a.prev == GENESIS.hex()
    first.close()
    second = SqliteDisclosureLog(path)
    b = second.append(physician="0xP", served=_served(2), at_ms=2)
    assert (b.seq, b.prev) == (2, a.hash)
    assert second.head() == (2, bytes.fromhex(b.hash))
    second.close()


def _tamper(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql)
    db.close()


@pytest.mark.parametrize(
    ("attack", "sql", "problem"),
    [
        ("edit a size", "UPDATE disclosures SET size = 1 WHERE seq = 2", "hash does not match"),
        ("edit the physician", "UPDATE disclosures SET physician = '0xQ' WHERE seq = 3",
         "hash does not match"),
        ("delete a middle entry", "DELETE FROM disclosures WHERE seq = 2", "missing or moved"),
        ("delete the tail below the anchor", "DELETE FROM disclosures WHERE seq >= 4",
         "entries removed"),
        ("rewrite a hash too", "UPDATE disclosures SET size = 9, hash = prev WHERE seq = 2",
         "hash does not match"),
    ],
)  # fmt: skip
def test_tampering_with_the_log_file_is_detected(
    tmp_path: Path, attack: str, sql: str, problem: str
) -> None:
    from gateway.disclosure.abc import AnchoredHead
    from gateway.disclosure.verify import verify

    path = tmp_path / "log.sqlite"
    log = SqliteDisclosureLog(path)
    for n in range(1, 6):
        log.append(physician="0xP", served=_served(n), at_ms=n)
    count, head = log.head()
    anchor = AnchoredHead(head=head, count=count, seq=1, block=7, tx="0x", operator="0xO")
    assert verify(log.entries(), [anchor]).ok
    log.close()
    _tamper(path, sql)
    reopened = SqliteDisclosureLog(path)
    outcome = verify(reopened.entries(), [anchor])
    reopened.close()
    assert not outcome.ok, attack
    assert any(problem in p for p in outcome.problems), outcome.problems


def test_two_writers_on_one_file_serialize_instead_of_forking_the_chain(tmp_path: Path) -> None:
    """Two connections (as two gateway worker processes would hold) appending at once."""
    import threading

    from gateway.disclosure.verify import verify

    path = tmp_path / "shared.sqlite"
    logs = [SqliteDisclosureLog(path), SqliteDisclosureLog(path)]

    def write(log: SqliteDisclosureLog) -> None:
        for n in range(50):
            log.append(physician="0xP", served=_served(n % 200 + 1), at_ms=n)

    threads = [threading.Thread(target=write, args=(log,)) for log in logs for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = logs[0].entries()
    assert len(entries) == 200 and verify(entries, []).ok
    for log in logs:
        log.close()


def test_a_log_rebuilt_consistently_without_a_read_still_fails_the_anchor(tmp_path: Path) -> None:
    """The strongest edit: drop a read and recompute every later hash (a whole new chain)."""
    from gateway.disclosure.abc import AnchoredHead
    from gateway.disclosure.verify import verify

    honest = SqliteDisclosureLog(tmp_path / "honest.sqlite")
    for n in range(1, 6):
        honest.append(physician="0xP", served=_served(n), at_ms=n)
    count, head = honest.head()
    anchor = AnchoredHead(head=head, count=count, seq=1, block=7, tx="0x", operator="0xO")
    forged = SqliteDisclosureLog(tmp_path / "forged.sqlite")
    for n in (1, 3, 4, 5, 5):  # read 2 hidden; a padding entry keeps the count at 5
        forged.append(physician="0xP", served=_served(n), at_ms=n)
    outcome = verify(forged.entries(), [anchor])
    assert outcome.chain_ok and not outcome.ok  # internally whole, but not what was anchored
    assert outcome.problems == ["anchor 1: entry 5 is not the anchored head"]
    honest.close()
    forged.close()


def test_a_qido_search_is_accounted_per_grant_and_study_it_answered_from(world: World) -> None:
    client, before = world.gateway.client, world.log.head()[0]
    studies = client.get("/dicomweb/studies", headers=world.reader)
    assert studies.status_code == 200
    found = _new_entries(world, before)
    assert {k for k, _, _, _ in found} == {"search"}
    assert {g for _, g, _, _ in found} == {G1.hex()}  # G2's study is never searched
    assert sum(s for _, _, _, s in found) == len(studies.json())
    study = _ct(world)[0][0]
    before = world.log.head()[0]
    instances = client.get(f"/dicomweb/studies/{study}/instances", headers=world.reader)
    ((kind, _, instance, size),) = _new_entries(world, before)
    assert (kind, instance, size) == ("search", "", len(instances.json()))
    before = world.log.head()[0]
    empty = client.get("/dicomweb/studies", params={"PatientID": "nobody"}, headers=world.reader)
    assert (empty.status_code, empty.json(), world.log.head()[0]) == (200, [], before)


def test_the_workspace_case_page_accounts_every_record_it_shows(world: World) -> None:
    """The physician's case page reads records server-side: each one is logged, like the API's."""
    client, before = world.gateway.client, world.log.head()[0]
    state = world.gateway.chain.grant_state(grant=G1)
    assert state is not None
    listed = client.get(f"/cases/0x{G1.hex()}/records", headers=world.reader).json()
    assert listed  # records to show
    opened = client.post("/workspace/session", headers=world.reader)
    assert opened.status_code == 204
    page = client.get(f"/workspace/cases/0x{bytes(state.case_id).hex()}")
    assert page.status_code == 200
    entries = world.log.entries()[before:]
    shown = [e for e in entries if e.kind == "record"]
    assert sorted(e.record for e in shown) == sorted(r["record"][2:] for r in listed)
    assert {e.physician for e in entries} == {world.physician.address}
    assert any(e.kind == "search" for e in entries)  # the study list drew on the headers
    client.cookies.clear()
