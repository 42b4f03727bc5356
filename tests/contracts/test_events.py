"""The binding's one log decoder: web3.py logs and raw ``eth_getLogs`` answers decode alike."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address

from contracts.deploy import Deployment
from contracts.events import EventDecoder, event_topic
from contracts.exceptions import ChainUnavailable

GRANTS = to_checksum_address("0x" + "44" * 20)
SUITE = Deployment(consortium=to_checksum_address("0x" + "11" * 20),
                   anchors=to_checksum_address("0x" + "22" * 20),
                   referrals=to_checksum_address("0x" + "33" * 20), grants=GRANTS)  # fmt: skip
PHYSICIAN, GRANTEE = "0x" + "ab" * 20, "0x" + "cd" * 20


def _redeemed_log() -> dict[str, Any]:
    """``AccessRedeemed(grantId=7, caseId, physician; referralId=3, ...)`` as web3 gives it."""
    data = encode(
        ["uint256", "address", "address", "bytes32", "uint32", "bool"],
        [3, GRANTEE, GRANTEE, b"\x05" * 32, 2, False],
    )
    return {
        "address": GRANTS,
        "topics": [event_topic("Grants", "AccessRedeemed"), (7).to_bytes(32, "big"),
                   b"\x09" * 32, bytes(12) + bytes.fromhex(PHYSICIAN[2:])],
        "data": data, "blockNumber": 12, "logIndex": 1, "transactionHash": b"\x0e" * 32,
    }  # fmt: skip


def _as_raw(log: dict[str, Any]) -> dict[str, Any]:
    """The same log as an ``eth_getLogs`` JSON answer: every field ``0x`` hex."""
    return {
        "address": log["address"].lower(),
        "topics": ["0x" + t.hex() for t in log["topics"]],
        "data": "0x" + log["data"].hex(),
        "blockNumber": hex(log["blockNumber"]),
        "logIndex": hex(log["logIndex"]),
        "transactionHash": "0x" + log["transactionHash"].hex(),
    }


def test_a_web3_log_and_its_raw_json_decode_to_the_same_event() -> None:
    decoder = EventDecoder(SUITE)
    web3_event, raw_event = (
        decoder.decode(_redeemed_log()),
        decoder.decode(_as_raw(_redeemed_log())),
    )
    assert web3_event == raw_event
    assert web3_event is not None
    assert (web3_event.contract, web3_event.name, web3_event.position) == (
        "Grants", "AccessRedeemed", (12, 1),
    )  # fmt: skip
    assert web3_event.args["grantId"] == 7
    assert web3_event.args["caseId"] == b"\x09" * 32
    assert web3_event.args["physician"] == to_checksum_address(PHYSICIAN)
    assert web3_event.args["grantee"] == to_checksum_address(GRANTEE)
    assert web3_event.args["use"] == 2


def test_a_log_of_a_contract_not_followed_is_skipped_and_refused_when_strict() -> None:
    decoder = EventDecoder(SUITE, ("Referrals",))
    assert decoder.decode(_redeemed_log()) is None
    with pytest.raises(ChainUnavailable, match="undecodable"):
        decoder.decode(_redeemed_log(), strict=True)


def test_a_log_whose_data_does_not_fit_its_event_is_refused() -> None:
    log = {**_redeemed_log(), "data": b"\x12\x34"}
    with pytest.raises(ChainUnavailable, match="undecodable"):
        EventDecoder(SUITE).decode(log)
