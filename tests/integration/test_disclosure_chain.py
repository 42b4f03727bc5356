"""Disclosure accounting end to end on a real chain: reads through the real gateway seams
(``NodeCaseStore`` over the county's node services, ``Web3ChainView`` redeeming with the
gateway operator), the log's head anchored by that operator in ``Anchors``, verified by the
auditor's report and by ``medledger audit disclosures`` against the chain's own events.

Only the auditor *registry* of the HTTP sign-in is a table (``TableAuditTrail``): this
world registers no auditor on chain. The trace of the case is the real ``ChainAuditTrail``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from contracts.deploy import connect
from gateway.app import create_app
from gateway.audit.disclosure_heads import ChainHeadAnchor
from gateway.audit.disclosures import report, with_reads
from gateway.audit.events import EventReader
from gateway.audit.trail import ChainAuditTrail
from gateway.audit_cli import app as audit_cli
from gateway.container import Services
from gateway.disclosure.abc import Filter
from gateway.disclosure.anchor import Anchorer, Policy
from gateway.disclosure.entry import Kind, Served, instance_ref
from gateway.disclosure.log import SqliteDisclosureLog
from gateway.memory import MemorySessionStore
from gateway.wiring.case_store import NodeCaseStore
from gateway.wiring.chain_view import Web3ChainView
from keys.typing import GrantId
from tests.devchain import CHAIN_ID
from tests.gateway.audit.apps import sign_in
from tests.gateway.audit.fakes import TableAuditTrail
from tests.gateway.conftest import make_settings
from tests.gateway.fakes import DictAuditSource
from tests.integration.cases_world import World, anchor_record, consortium
from tests.integration.gateway_flow import (
    OPERATOR,
    GatewayUnderTest,
    gateway_client_for,
    register_staff,
)
from tests.integration.test_case_grants import _attach, _new_case
from tests.integration.test_gateway_node_wiring import _grant
from tests.node.dicom_samples import STUDY_UID, write_study


@dataclass
class Story:
    world: World
    gw: GatewayUnderTest
    anchorer: Anchorer
    heads: ChainHeadAnchor
    log_path: Path
    case: str
    grant: GrantId
    records: list[bytes]
    sops: list[str]
    auditor: dict[str, str]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    from node.formats.dicom import read_study
    from node.ingest.study import ingest_dicom_study

    root = tmp_path_factory.mktemp("disclosure-chain")
    with consortium(root / "world", extra_senders=(OPERATOR.address,)) as world:
        village, county = world["village"], world["county"]
        case = _new_case()
        originals = _attach(world, case, 2)
        write_study(root / "study")
        assert village.node is not None
        receipt = ingest_dicom_study(services=village.node.ingest_services(),
                                     study=read_study(root / "study"))  # fmt: skip
        anchor_record(village, receipt, bytes.fromhex(case[2:]), world.deployment, world.rpc_url)
        body = {"record_ids": [receipt.record_id.hex()]}
        assert village.api("POST", f"/cases/{case}/records", json=body).status_code == 200
        grant, _ = _grant(world, case, originals)

        physician, operator = register_staff(world, county)
        client = gateway_client_for(world, operator)  # one nonce counter for both senders
        chain = Web3ChainView(client)
        events = EventReader(connect(world.rpc_url), world.deployment)
        heads = ChainHeadAnchor(hospital=county.address, client=client, events=events)
        log_path = root / "gateway" / "disclosures.sqlite"
        anchorer = Anchorer(SqliteDisclosureLog(log_path), heads,
                            Policy(every_entries=4, every_seconds=3600))  # fmt: skip
        anchorer.start()
        auditor: LocalAccount = Account.create()
        registry = TableAuditTrail(auditors={auditor.address})
        store = NodeCaseStore(county.svc, chain=chain)
        services = Services(chain=chain, cases=store, sessions=MemorySessionStore(),
                            audit=DictAuditSource(), trail=registry,
                            disclosures=anchorer)  # fmt: skip
        settings = make_settings(hospital=county.address, chain_id=CHAIN_ID,
                                 grants_contract=world.deployment.grants)  # fmt: skip
        with TestClient(create_app(services=services, settings=settings)) as http:
            gw = GatewayUnderTest(http, physician, store)
            signed = sign_in(http, auditor)
            assert signed.status_code == 200, signed.text
            told = Story(world, gw, anchorer, heads, log_path, case, grant,
                         [r for r, _ in originals], [], {"Authorization":
                         f"Bearer {signed.json()['token']}"})  # fmt: skip
            _read_everything(told)  # the physician's reads every test accounts for
            yield told
        anchorer.stop()


def _read_everything(story: Story) -> dict[str, str]:
    county = story.world["county"]
    grant_no = int.from_bytes(story.grant, "big")
    token = str(county.svc.store.grant_row(grant_no)["token"])  # type: ignore[index]
    headers = story.gw.sign_in()
    assert story.gw.redeem(headers, token).status_code == 200
    for record in story.records:
        assert story.gw.client.get(f"/records/0x{record.hex()}", headers=headers).status_code == 200
    study = story.gw.client.get(f"/dicomweb/studies/{STUDY_UID}", headers=headers)
    assert study.status_code == 200
    story.sops.extend(h.sop_uid for h in story.gw.store.list_instances(grants={story.grant}))
    return headers


def _wait_for_anchor(heads: ChainHeadAnchor, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not heads.anchored():
        assert time.monotonic() < deadline, "the background anchor never landed"
        time.sleep(0.1)


def test_reads_are_logged_anchored_by_the_operator_and_verified(story: Story) -> None:
    everything = story.anchorer.log.entries()
    entries = everything[:7]
    assert [e.kind for e in entries] == ["record"] * 2 + ["instance"] * len(story.sops)
    assert len(story.sops) == 5
    assert {e.physician for e in entries} == {story.gw.physician.address}
    assert {e.grant for e in entries} == {story.grant.hex()}
    assert [e.record for e in entries[:2]] == [r.hex() for r in story.records]
    study_records = {e.record for e in entries[2:]}
    assert len(study_records) == 1 and "" not in study_records
    assert sorted(e.instance for e in entries[2:]) == sorted(
        instance_ref(story.grant, s).hex() for s in story.sops)  # fmt: skip

    _wait_for_anchor(story.heads)  # every 4 entries: sent in the background
    first = story.heads.anchored()[0]
    assert first.count >= 4 and first.operator == OPERATOR.address
    # On demand, over the audit API: the rest of the log (unless the background thread,
    # woken again by the later reads, has anchored it meanwhile).
    anchored = story.gw.client.post("/audit/disclosures/anchor", headers=story.auditor)
    if anchored.status_code == 200:
        assert anchored.json()["count"] == len(everything)
        assert anchored.json()["head"] == everything[-1].hash
    else:
        assert anchored.status_code == 204, anchored.text
    latest = story.heads.anchored()[-1]
    assert (latest.count, latest.head.hex()) == (len(everything), everything[-1].hash)
    assert [a.seq for a in story.heads.anchored()] == list(
        range(1, len(story.heads.anchored()) + 1)
    )
    again = story.gw.client.post("/audit/disclosures/anchor", headers=story.auditor)
    assert again.status_code == 204  # nothing new to anchor

    only = {"record": "0x" + story.records[0].hex()}
    found = story.gw.client.get("/audit/disclosures", headers=story.auditor, params=only).json()
    assert found["verification"]["ok"] is True, found["verification"]
    assert found["verification"]["anchored_count"] == len(everything)
    assert [e["seq"] for e in found["entries"]] == [1]
    by_head = {a["count"]: a["head"] for a in found["anchors"]}
    assert all(everything[c - 1].hash == h for c, h in by_head.items())


def test_the_case_trace_from_the_chain_shows_the_redemption_and_the_reads(story: Story) -> None:
    world = story.world
    trail = ChainAuditTrail(connect(world.rpc_url), world.deployment)
    trace = with_reads(trail.trace_case(case=bytes.fromhex(story.case[2:])), story.anchorer.log)
    assert "AccessRedeemed" in [e.kind for e in trace.events]
    assert trace.reads is not None
    assert [r.kind for r in trace.reads][:7] == ["record", "record", *["instance"] * 5]


def _copy(source: Path, target: Path) -> Path:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


def _cli(story: Story, log: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    contracts = tmp_path / "contracts.json"
    contracts.write_text(json.dumps(story.world.deployment.as_dict()))
    result = CliRunner().invoke(audit_cli, [
        "disclosures", "--log", str(log), "--hospital", story.world["county"].address,
        "--rpc", story.world.rpc_url, "--contracts", str(contracts), *extra,
    ])  # fmt: skip
    return result.exit_code, result.stdout


def test_the_cli_verifies_a_copy_and_catches_a_hidden_or_rewritten_read(
    story: Story, tmp_path: Path
) -> None:
    count = story.anchorer.log.head()[0]
    assert count >= 7
    code, out = _cli(story, _copy(story.log_path, tmp_path / "copy.sqlite"), tmp_path, "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["verification"]["ok"] and body["verification"]["count"] == count
    for attack, sql in [
        ("hide a read", "DELETE FROM disclosures WHERE seq = 3"),
        ("hide the last reads", "DELETE FROM disclosures WHERE seq >= 6"),
        ("rewrite who read", "UPDATE disclosures SET physician = '0x00' WHERE seq = 1"),
    ]:
        copy = _copy(story.log_path, tmp_path / f"{attack}.sqlite")
        with sqlite3.connect(copy) as db:
            db.execute(sql)
        db.close()
        code, out = _cli(story, copy, tmp_path, "--json")
        assert code == 4, (attack, out)
        assert json.loads(out)["verification"]["ok"] is False
    code, _ = _cli(story, tmp_path / "absent.sqlite", tmp_path)
    assert code == 2


def test_the_cli_trace_of_the_case_shows_the_reads_of_a_log_copy(
    story: Story, tmp_path: Path
) -> None:
    contracts = tmp_path / "contracts.json"
    contracts.write_text(json.dumps(story.world.deployment.as_dict()))
    copy = _copy(story.log_path, tmp_path / "copy.sqlite")
    args = ["trace", "case", story.case, "--rpc", story.world.rpc_url,
            "--contracts", str(contracts), "--disclosures", str(copy)]  # fmt: skip
    result = CliRunner().invoke(audit_cli, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert "AccessRedeemed" in [e["kind"] for e in body["events"]]
    assert [r["kind"] for r in body["reads"]][:7] == ["record"] * 2 + ["instance"] * 5
    text = CliRunner().invoke(audit_cli, args)
    assert text.exit_code == 0 and "reads served (disclosure log)" in text.stdout


def test_a_restarted_gateway_continues_the_chain_and_no_phi_is_in_the_log(
    story: Story, tmp_path: Path
) -> None:
    count, head = story.anchorer.log.head()
    restarted = SqliteDisclosureLog(story.log_path)
    served = Served(kind=Kind.RECORD, grant=story.grant, record=story.records[0],
                    instance=None, size=1)  # fmt: skip
    entry = restarted.append(physician=story.gw.physician.address, served=served, at_ms=1)
    assert (entry.seq, entry.prev) == (count + 1, head.hex())
    restarted.close()
    assert report(hospital=story.world["county"].address, log=story.anchorer.log,
                  chain=story.heads, where=Filter()).verification.ok  # fmt: skip
    raw = b"".join(p.read_bytes() for p in story.log_path.parent.glob("disclosures.sqlite*"))
    assert raw
    for secret in [b"MRN-0001", b"p-123", STUDY_UID.encode(), *(s.encode() for s in story.sops)]:
        assert secret not in raw
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_quiet_log_is_anchored_after_t_seconds_and_resumes_after_a_restart(
    story: Story, tmp_path: Path
) -> None:
    """The time rule: two reads, far below every N entries, are anchored within T seconds;
    a restarted anchorer reads the last anchored count back from the chain."""
    tertiary = story.world["tertiary"]  # its own log and account: counts are per hospital
    client = gateway_client_for(story.world, tertiary.signing.account)
    heads = ChainHeadAnchor(hospital=tertiary.address, client=client,
                            events=story.heads.events)  # fmt: skip
    log = SqliteDisclosureLog(tmp_path / "tertiary.sqlite")
    anchorer = Anchorer(log, heads, Policy(every_entries=1000, every_seconds=0.3))
    anchorer.start()
    served = Served(kind=Kind.RECORD, grant=story.grant, record=story.records[0],
                    instance=None, size=3)  # fmt: skip
    for n in range(2):
        anchorer.append(physician=story.gw.physician.address, served=served, at_ms=n)
    _wait_for_anchor(heads)
    anchorer.stop()
    assert [(a.count, a.head) for a in heads.anchored()] == [log.head()]
    again = Anchorer(log, heads, Policy(every_entries=1000, every_seconds=3600))
    again.start()
    assert again.anchor_now() is None  # the chain already holds this head
    again.stop()
    log.close()
