"""A hospital admitted as a validator by the CLI vote joins the running BFT chain.

Three hospitals from ``consortium init`` run their validators (real ``medledger ledger run``
processes on loopback, started from the process table as the demo does). ``consortium
add-member --validator`` writes a fourth hospital's keys and configs and walks the vote;
the fourth ledger is started on the ``ledger.json`` it wrote, untouched. The running three
were not reconfigured or restarted: they accept the newcomer's key because the chain now
lists it, and dial it back at the endpoint its hello announces. It syncs, and once one of
the original three is stopped every new block is sealed by the newcomer too (3 of 4 is
the quorum), so the chain's progress proves its seals are counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.deploy import connect, contract_at
from contracts.tx import send
from ledger.abc import Commit, CommitSeal
from ledger.seal import verify_commit
from ledger.typing import Address, BlockNumber, Hash32
from medledger.consortium.chain import unlock
from medledger.consortium.local import LocalConsortium
from medledger.consortium.manifest import load_manifest
from medledger.processes import process
from tests.integration.bft_cluster import free_port_block, wait_until
from tests.medledger.conftest import FAST_KDF, PASSPHRASE, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def three(tmp_path: Path) -> Iterator[LocalConsortium]:
    out = tmp_path / "c"
    code, _, err = run_cli(
        ["consortium", "init", "--hospitals", "3", "--out", str(out), "--fast-consensus",
         "--base-port", str(free_port_block(40)), *FAST_KDF]
    )  # fmt: skip
    assert code == 0, err
    with LocalConsortium(out, passphrase=PASSPHRASE) as local:
        local.start(process("ledger"))
        yield local


def _rpc(url: str, method: str, *params: object) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    reply = httpx.post(url, json=body, timeout=5).json()
    assert "result" in reply, reply
    return reply["result"]


def _head(url: str) -> int:
    return int(_rpc(url, "eth_blockNumber"), 16)


def _address(text: str) -> Address:
    return Address(bytes.fromhex(text[2:]))


def _commit(url: str, number: int) -> Commit:
    raw = _rpc(url, "medledger_getCommit", hex(number))
    return Commit(
        height=BlockNumber(int(raw["height"], 16)),
        round=int(raw["round"], 16),
        block_hash=Hash32(bytes.fromhex(raw["blockHash"][2:])),
        seals=tuple(
            CommitSeal(_address(s["validator"]), bytes.fromhex(s["signature"][2:]))
            for s in raw["seals"]
        ),
    )


def test_a_hospital_admitted_as_validator_by_cli_vote_syncs_and_its_seals_keep_the_chain_live(
    three: LocalConsortium,
) -> None:
    directory = three.directory
    code, out, err = run_cli(
        ["consortium", "add-member", "--dir", str(directory), "--tier", "county",
         "--name", "Second County Hospital", "--validator", "--json", *FAST_KDF]
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["executed"] is True and result["validator"] is True
    assert [v["yes"] for v in result["votes"]] == [1, 2, 3]  # ceil(3 * 67%) = 3
    newcomer = result["candidate"]
    founders = load_manifest(directory).hospitals[:3]
    assert {p["address"].lower() for p in result["peers"]} == {
        h.validator_address.lower() for h in founders
    }
    config = json.loads((directory / newcomer["directory"] / "ledger.json").read_text())
    assert len(config["p2p"]["peers"]) == 4  # the three validators and itself

    first = founders[0]
    w3 = connect(first.rpc_url)
    consortium = contract_at(w3, "Consortium", load_manifest(directory).contracts["consortium"])
    # the chain counts the newcomer's validator key (validator/), not its member account
    key = newcomer["validator_address"]
    assert key != newcomer["signing_address"]
    assert key in consortium.functions.validators().call()
    assert newcomer["signing_address"] not in consortium.functions.validators().call()
    admitted = w3.eth.block_number  # the vote's block (or earlier): it validates after it
    new_set = _rpc(first.rpc_url, "medledger_getValidators", hex(admitted + 1))
    assert key.lower() in new_set and len(new_set) == 4

    three.manifest = load_manifest(directory)
    three.start(process("ledger"), only=[newcomer["slug"]])  # its own config, unedited
    new_url = newcomer["rpc_url"]
    wait_until(lambda: _head(new_url) >= admitted, 30, "the newcomer to sync")
    ours = _rpc(new_url, "eth_getBlockByNumber", hex(admitted), False)["hash"]
    assert ours == _rpc(first.rpc_url, "eth_getBlockByNumber", hex(admitted), False)["hash"]

    three.stop(founders[2].slug)  # 3 of 4 left: no quorum without the newcomer
    account = unlock(directory, first, PASSPHRASE)
    receipts = [
        send(w3, account, consortium.functions.setEndpoint(first.node_url)) for _ in range(2)
    ]
    assert all(r["status"] == 1 for r in receipts)
    members = tuple(_address(a) for a in new_set)
    last = 0
    for receipt in receipts:
        last = int(receipt["blockNumber"])
        commit = _commit(first.rpc_url, last)
        assert _address(key) in {s.validator for s in commit.seals}
        verify_commit(commit, members, int(w3.eth.chain_id), height=last)
    wait_until(lambda: _head(new_url) >= last, 20, "the newcomer to commit the blocks it sealed")

    # The stopped founder is voted out of the validator set by the CLI: from the next block
    # the three running validators are the whole set and seal on their own.
    stopped = founders[2]
    code, out, err = run_cli(
        ["consortium", "set-validator", "--dir", str(directory), "--member", stopped.slug,
         "--off", "--json"]
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["executed"] is True
    assert load_manifest(directory).hospital(stopped.slug).validator is False
    node_json = json.loads((directory / stopped.directory / "node.json").read_text())
    assert node_json["rpc_url"] == first.rpc_url  # its own ledger is cut off now
    flagged_off = w3.eth.block_number
    after = _rpc(first.rpc_url, "medledger_getValidators", hex(flagged_off + 1))
    assert len(after) == 3 and stopped.validator_address.lower() not in after
    receipt = send(w3, account, consortium.functions.setEndpoint(first.node_url))
    commit = _commit(first.rpc_url, int(receipt["blockNumber"]))
    verify_commit(commit, tuple(_address(a) for a in after), int(w3.eth.chain_id))
    code, _, err = run_cli(
        ["consortium", "set-validator", "--dir", str(directory), "--member", stopped.slug, "--off"]
    )
    assert code == 4 and "is not a validator" in err  # refused before any transaction

    # Voted back on and restarted: the others accept its key again and it catches up.
    code, out, err = run_cli(
        ["consortium", "set-validator", "--dir", str(directory), "--member", stopped.slug,
         "--on", "--json"]
    )  # fmt: skip
    assert code == 0, err
    flagged_on = w3.eth.block_number
    assert len(_rpc(first.rpc_url, "medledger_getValidators", hex(flagged_on + 1))) == 4
    three.manifest = load_manifest(directory)
    three.start(process("ledger"), only=[stopped.slug])
    wait_until(lambda: _head(stopped.rpc_url) >= flagged_on, 30, "the returning validator")
    assert (
        _rpc(stopped.rpc_url, "eth_getBlockByNumber", hex(flagged_on), False)["hash"]
        == (_rpc(first.rpc_url, "eth_getBlockByNumber", hex(flagged_on), False)["hash"])
    )
