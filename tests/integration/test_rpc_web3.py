"""web3.py against a real ``medledger ledger run`` process: the whole client path works.

Deploy, transact, call, receipts, reverts with custom error data, log filters, and (over
WebSocket) newHeads and logs subscriptions.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from web3 import AsyncWeb3, Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware, SignAndSendRawMiddlewareBuilder
from web3.providers.persistent import WebSocketProvider

from tests.integration.nodeproc import PROBE, DevConfig, NodeProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def w3(node: NodeProcess, dev_config: DevConfig) -> Web3:
    client = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    client.middleware_onion.inject(
        SignAndSendRawMiddlewareBuilder.build(dev_config.validator), layer=0
    )
    # commit seals make extraData longer than 32 bytes, as on every PoA/BFT chain
    client.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    client.eth.default_account = dev_config.validator.address
    return client


@pytest.fixture(scope="module")
def probe(w3: Web3) -> Any:
    factory = w3.eth.contract(abi=PROBE["abi"], bytecode=PROBE["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor().transact(), timeout=30)
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=PROBE["abi"])


def test_deploy_transact_call_and_receipt_fields(w3: Web3, probe: Any) -> None:
    assert w3.eth.chain_id == 1337
    assert w3.eth.get_code(probe.address) == bytes.fromhex(PROBE["runtime"][2:])
    tx_hash = probe.functions.store(41).transact()
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt["status"] == 1 and receipt["type"] == 2
    assert receipt["contractAddress"] is None
    assert receipt["to"] == probe.address
    assert 0 < receipt["gasUsed"] <= receipt["cumulativeGasUsed"]
    assert receipt["effectiveGasPrice"] == 0
    (event,) = probe.events.Stored().process_receipt(receipt)
    assert event["args"]["value"] == 41 and event["args"]["writer"] == w3.eth.default_account
    assert probe.functions.value().call() == 41
    assert w3.eth.get_storage_at(probe.address, 0) == (41).to_bytes(32, "big")
    tx = w3.eth.get_transaction(tx_hash)
    assert tx["blockHash"] == receipt["blockHash"] and tx["from"] == w3.eth.default_account
    block = w3.eth.get_block(receipt["blockNumber"], full_transactions=True)
    assert block["transactions"][receipt["transactionIndex"]]["hash"] == tx_hash
    assert w3.eth.get_block(block["hash"])["number"] == block["number"]


def test_legacy_and_access_list_transactions_are_served_in_their_type(
    w3: Web3, probe: Any, dev_config: DevConfig
) -> None:
    account = dev_config.accounts[0]
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    base = {"to": probe.address, "gas": 200_000, "chainId": 1337, "value": 0}
    data = probe.encode_abi("store", [7])
    legacy = account.sign_transaction({**base, "nonce": nonce, "gasPrice": 0, "data": data})
    typed = account.sign_transaction(
        {
            **base,
            "nonce": nonce + 1,
            "gasPrice": 0,
            "data": data,
            "accessList": [{"address": probe.address, "storageKeys": ["0x" + "00" * 32]}],
        }
    )
    hashes = [w3.eth.send_raw_transaction(t.raw_transaction) for t in (legacy, typed)]
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=30) for h in hashes]
    assert [r["type"] for r in receipts] == [0, 1]
    legacy_tx, typed_tx = (w3.eth.get_transaction(h) for h in hashes)
    assert legacy_tx["type"] == 0 and legacy_tx["v"] in (1337 * 2 + 35, 1337 * 2 + 36)
    assert typed_tx["type"] == 1 and typed_tx["accessList"][0]["address"] == probe.address


def test_custom_error_revert_reaches_web3_with_its_data(w3: Web3, probe: Any) -> None:
    caller = w3.eth.default_account
    expected = (
        "0x"
        + (
            keccak(text="Denied(address,uint256)")[:4] + encode(["address", "uint256"], [caller, 7])
        ).hex()
    )
    with pytest.raises(ContractCustomError) as info:
        probe.functions.deny(7).call({"from": caller})
    assert info.value.data == expected
    with pytest.raises(ContractCustomError):
        probe.functions.deny(7).estimate_gas({"from": caller})


def test_revert_string_reaches_web3_as_contract_logic_error(w3: Web3, probe: Any) -> None:
    with pytest.raises(ContractLogicError, match="execution reverted: no access"):
        probe.functions.failWith("no access").call()


def test_mempool_rejection_is_a_json_rpc_error_with_its_reason(
    w3: Web3, dev_config: DevConfig
) -> None:
    account = dev_config.accounts[1]
    stale = account.sign_transaction(
        {"to": account.address, "nonce": 0, "gas": 21_000, "gasPrice": 0, "chainId": 1337}
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(stale.raw_transaction))
    with pytest.raises(Web3RPCError) as info:
        w3.eth.send_raw_transaction(stale.raw_transaction)
    error = info.value.rpc_response["error"]
    assert error["code"] == -32003 and error["data"] in ("nonce-too-low", "already-known")
    wrong_chain = account.sign_transaction(
        {"to": account.address, "nonce": 1, "gas": 21_000, "gasPrice": 0, "chainId": 1}
    )
    with pytest.raises(Web3RPCError) as info:
        w3.eth.send_raw_transaction(wrong_chain.raw_transaction)
    assert info.value.rpc_response["error"]["data"] == "wrong-chain-id"


def test_get_logs_filters_by_address_topic_and_range(
    w3: Web3, probe: Any, dev_config: DevConfig
) -> None:
    other = dev_config.accounts[1]
    first = w3.eth.block_number + 1
    hashes = [probe.functions.store(1000 + i).transact() for i in range(3)]
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=30) for h in hashes]
    nonce = w3.eth.get_transaction_count(other.address, "pending")
    signed = other.sign_transaction(
        {
            "to": probe.address,
            "nonce": nonce,
            "gas": 200_000,
            "gasPrice": 0,
            "chainId": 1337,
            "data": probe.encode_abi("store", [2000]),
        }
    )
    receipts.append(
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    )
    last = max(r["blockNumber"] for r in receipts)
    topic0 = "0x" + keccak(text="Stored(address,uint256,uint256)").hex()
    everything = w3.eth.get_logs({"fromBlock": first, "toBlock": last, "address": probe.address})
    assert len(everything) == 4
    writer = "0x" + "00" * 12 + w3.eth.default_account[2:].lower()
    mine = w3.eth.get_logs(
        {
            "fromBlock": first,
            "toBlock": last,
            "address": [probe.address],
            "topics": [topic0, writer],
        }
    )
    assert [int(log["topics"][2].hex(), 16) for log in mine] == [1000, 1001, 1002]
    value_or = w3.eth.get_logs(
        {
            "fromBlock": first,
            "toBlock": "latest",
            "topics": [
                None,
                None,
                ["0x" + (1001).to_bytes(32, "big").hex(), "0x" + (2000).to_bytes(32, "big").hex()],
            ],
        }
    )
    assert sorted(int(log["topics"][2].hex(), 16) for log in value_or) == [1001, 2000]
    one_block = w3.eth.get_logs({"blockHash": receipts[0]["blockHash"], "address": probe.address})
    assert receipts[0]["transactionHash"] in [log["transactionHash"] for log in one_block]
    for log in everything:
        receipt = w3.eth.get_transaction_receipt(log["transactionHash"])
        assert log["logIndex"] in [entry["logIndex"] for entry in receipt["logs"]]
    assert w3.eth.get_logs({"fromBlock": last + 1000, "toBlock": "latest"}) == []


def test_websocket_subscriptions_deliver_new_heads_and_filtered_logs(
    node: NodeProcess, probe: Any, dev_config: DevConfig
) -> None:
    account = dev_config.accounts[0]

    async def scenario() -> tuple[list[Any], list[Any], Any]:
        async with AsyncWeb3(WebSocketProvider(node.ws_url)) as aw3:
            aw3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
            heads_id = await aw3.eth.subscribe("newHeads")
            logs_id = await aw3.eth.subscribe(
                "logs",
                {
                    "address": probe.address,
                    "topics": [None, None, "0x" + (77).to_bytes(32, "big").hex()],
                },
            )
            nonce = await aw3.eth.get_transaction_count(account.address, "pending")
            signed = [
                account.sign_transaction(
                    {
                        "to": probe.address,
                        "nonce": nonce + i,
                        "gas": 200_000,
                        "gasPrice": 0,
                        "chainId": 1337,
                        "data": probe.encode_abi("store", [value]),
                    }
                )
                for i, value in enumerate((76, 77))
            ]
            for tx in signed:
                await aw3.eth.send_raw_transaction(tx.raw_transaction)
            heads: list[Any] = []
            logs: list[Any] = []

            async def collect() -> None:
                async for message in aw3.socket.process_subscriptions():
                    if message["subscription"] == heads_id:
                        heads.append(message["result"])
                    elif message["subscription"] == logs_id:
                        logs.append(message["result"])
                    if logs:
                        return

            await asyncio.wait_for(collect(), timeout=30)
            receipt = await aw3.eth.wait_for_transaction_receipt(signed[1].hash, timeout=30)
            assert await aw3.eth.unsubscribe(heads_id) is True
            again = await aw3.provider.make_request("eth_unsubscribe", [heads_id])
            assert again["result"] is False
            return heads, logs, receipt

    heads, logs, receipt = asyncio.run(scenario())
    assert len(logs) == 1
    assert logs[0]["transactionHash"] == receipt["transactionHash"]
    assert logs[0]["logIndex"] == receipt["logs"][0]["logIndex"]
    assert heads and heads[-1]["number"] == receipt["blockNumber"]
