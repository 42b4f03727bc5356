"""``medledger node`` referral/grant commands against real node APIs on a real chain.

The commands are mounted on a fresh Typer app with ``node.cli.cases.register`` (what the
node CLI does) and run in-process with Typer's runner; every command makes real HTTP calls
to the hospitals' node APIs, which send real transactions.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from node.cli.cases import TOKEN_ENV, parse_expiry, register
from tests.integration.cases_world import (
    API_TOKEN,
    World,
    anchor_record,
    consortium,
    fhir_observation,
)

pytestmark = pytest.mark.timeout(300)

app = typer.Typer()
register(app)
runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with consortium(tmp_path_factory.mktemp("cases-cli")) as w:
        yield w


def run(*args: str, token: str = API_TOKEN) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={TOKEN_ENV: token})
    return result.exit_code, result.stdout, result.stderr


def ok_json(*args: str) -> dict[str, object]:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    doc: dict[str, object] = json.loads(out)
    return doc


def test_refer_accept_grant_follow_and_revoke_from_the_command_line(world: World) -> None:
    village, county = world["village"], world["county"]
    case = os.urandom(32).hex()
    receipt = village.ingest_fhir(fhir_observation(9.9))
    anchor_record(village, receipt, bytes.fromhex(case), world.deployment, world.rpc_url)
    added = ok_json("case-add", case, receipt.record_id.hex(), "--api", village.url)
    assert added["added"] == 1
    ref = ok_json("refer", case, "--to", county.address, "--expires", "+2h",
                  "--reason", "12", "--api", village.url)  # fmt: skip
    assert ref["status"] == "pending"
    accepted = ok_json("accept", str(ref["referral_id"]), "--api", county.url)
    assert accepted["status"] == "accepted"
    grant = ok_json("grant", case, "--to", county.address, "--expires", "+1h",
                    "--max-uses", "2", "--api", village.url)  # fmt: skip
    assert grant["delivered"] is True and grant["records"] == 1
    followed = ok_json("follow", "--api", county.url)
    assert followed["replicated"] == [grant["grant_id"]]
    listed = json.loads(run("grants", "--api", county.url, "--json")[1])
    assert [g["state"] for g in listed if g["grant_id"] == grant["grant_id"]] == ["replicated"]
    revoked = ok_json("revoke", str(grant["grant_id"]), "--api", village.url)
    assert revoked["revoked"] is True
    code, _, err = run("revoke", str(grant["grant_id"]), "--api", village.url)
    assert code == 1 and "GrantIsRevoked" in err
    code, out, _ = run("referrals", "--api", county.url)
    assert code == 0 and "accepted" in out


def test_rekey_and_shred_from_the_command_line(world: World) -> None:
    village, county = world["village"], world["county"]
    case = os.urandom(32).hex()
    receipt = village.ingest_fhir(fhir_observation(7.7))
    anchor_record(village, receipt, bytes.fromhex(case), world.deployment, world.rpc_url)
    record = receipt.record_id.hex()
    ok_json("case-add", case, record, "--api", village.url)
    ref = ok_json("refer", case, "--to", county.address, "--api", village.url)
    ok_json("accept", str(ref["referral_id"]), "--api", county.url)
    grant = ok_json("grant", case, "--to", county.address, "--api", village.url)
    rekeyed = ok_json("rekey", record, "--api", village.url)
    assert rekeyed["regranted"] == [grant["grant_id"]] and rekeyed["new_cid"] != rekeyed["old_cid"]
    dropped = ok_json("rekey", record, "--drop", county.address, "--api", village.url)
    assert dropped["regranted"] == []
    code, _, err = run("shred", record, "--api", village.url)
    assert code == 2 and "--yes" in err
    shredded = ok_json("shred", record, "--yes", "--api", village.url)
    assert shredded["record_id"] == record and shredded["packages_dropped"] == 1
    code, _, err = run("rekey", record, "--api", village.url)
    assert code == 1 and "no usable data key" in err  # the data key is gone


def test_decline_complete_and_refer_back_from_the_command_line(world: World) -> None:
    village, county = world["village"], world["county"]
    ref = ok_json("refer", os.urandom(32).hex(), "--to", county.address, "--api", village.url)
    assert ok_json("decline", str(ref["referral_id"]), "--reason", "4",
                   "--api", county.url)["status"] == "declined"  # fmt: skip
    ref = ok_json("refer", os.urandom(32).hex(), "--to", county.address, "--api", village.url)
    rid = str(ref["referral_id"])
    ok_json("accept", rid, "--api", county.url)
    assert ok_json("complete", rid, "--api", county.url)["status"] == "completed"
    back = ok_json("refer-back", rid, "--expires", "+1d", "--api", county.url)
    assert back["status"] == "pending" and back["referral_id"] != ref["referral_id"]


def test_contract_refusals_are_reported_with_the_rule_and_exit_1(world: World) -> None:
    village, county = world["village"], world["county"]
    code, _, err = run("refer", os.urandom(32).hex(), "--to", village.address,
                       "--api", county.url)  # fmt: skip
    assert code == 1 and "NotUpwardReferral" in err
    code, _, err = run("accept", "999999", "--api", county.url)
    assert code == 1 and "UnknownReferral" in err


def test_bad_input_is_refused_before_any_call_with_exit_2(world: World) -> None:
    county = world["county"]
    code, _, err = run("refer", "not-hex", "--to", county.address, "--api", county.url)
    assert code == 2 and "case id" in err
    code, _, err = run("refer", os.urandom(32).hex(), "--to", "0x1234", "--api", county.url)
    assert code == 2 and "address" in err
    code, _, err = run("grant", os.urandom(32).hex(), "--to", county.address,
                       "--expires", "yesterday", "--api", county.url)  # fmt: skip
    assert code == 2 and "expiry" in err
    code, _, err = run("grant", os.urandom(32).hex(), "--to", county.address,
                       "--max-uses", "0", "--api", county.url)  # fmt: skip
    assert code == 2


def test_wrong_token_and_unreachable_node_are_clear_errors(world: World) -> None:
    code, _, err = run("referrals", "--api", world["county"].url, token="not-the-token")
    assert code == 1 and "API token" in err
    code, _, err = run("referrals", "--api", "http://127.0.0.1:9")
    assert code == 2 and "unreachable" in err
    result = runner.invoke(app, ["referrals", "--api", world["county"].url], env={TOKEN_ENV: ""})
    assert result.exit_code == 2 and TOKEN_ENV in result.stderr


def test_expiry_forms() -> None:
    now = 1_800_000_000.0
    assert parse_expiry("+2h", now=now) == int(now) + 7200
    assert parse_expiry("1900000000", now=now) == 1_900_000_000
    assert parse_expiry("2030-01-01T00:00:00+00:00", now=now) == 1_893_456_000
    for bad in ("+5y", "2030-01-01T00:00:00", "1000"):
        with pytest.raises(typer.BadParameter):
            parse_expiry(bad, now=now)
    assert time.time() < parse_expiry("+1m")


def test_every_command_has_help() -> None:
    for command in ("case-add", "refer", "accept", "decline", "complete", "refer-back",
                    "grant", "revoke", "referrals", "grants", "follow", "rekey",
                    "shred"):  # fmt: skip
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "--api" in result.stdout
