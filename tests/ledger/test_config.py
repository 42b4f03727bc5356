from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.config import dump_genesis, load_genesis, parse_genesis, write_dev_genesis
from ledger.exceptions import ConfigError
from tests.ledger.helpers import KEYS, VALIDATOR_KEY, address

VALIDATOR = address(VALIDATOR_KEY)


def doc(**overrides: Any) -> str:
    fields: dict[str, Any] = {
        "chain_id": 7,
        "validators": [VALIDATOR],
        "accounts": [{"address": address(KEYS[0]), "kind": "member", "balance": 5}],
    }
    fields.update(overrides)
    return json.dumps(fields)


def test_minimal_genesis_gets_documented_defaults() -> None:
    genesis = parse_genesis(doc())
    assert genesis.block_interval_ms == 100
    assert genesis.gas_limit == 30_000_000
    assert genesis.consortium_contract is None
    assert genesis.permitted_addresses() == {
        bytes.fromhex(VALIDATOR[2:]),
        bytes.fromhex(address(KEYS[0])[2:]),
    }


def test_dev_genesis_written_then_loaded_is_identical(tmp_path: Path) -> None:
    written = write_dev_genesis(
        tmp_path / "g.json", validator=VALIDATOR, accounts=[address(k) for k in KEYS], balance=9
    )
    assert load_genesis(tmp_path / "g.json") == written
    assert dump_genesis(load_genesis(tmp_path / "g.json")) == (tmp_path / "g.json").read_text()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"chain_id": 0}, "chain_id"),
        ({"validators": []}, "validators"),
        ({"validators": [VALIDATOR, VALIDATOR]}, "unique"),
        ({"validators": ["0x1234"]}, "20-byte"),
        ({"validators": [VALIDATOR[:-1] + ("a" if VALIDATOR[-1] != "a" else "b")]}, "checksum"),
        ({"block_interval_ms": 10}, "block_interval_ms"),
        ({"block_interval_ms": 501}, "block_interval_ms"),
        ({"gas_limit": 100}, "gas_limit"),
        ({"max_transaction_size": 10}, "max_transaction_size"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"alloc": {VALIDATOR: {"code": "6001"}}}, "0x"),
        ({"alloc": {VALIDATOR: {"balance": -1}}}, "balance"),
        ({"consortium_contract": address(KEYS[3])}, "consortium_contract"),
        (
            {"alloc": {address(KEYS[0]): {"balance": 1}}},
            "balance both",
        ),
    ],
)
def test_invalid_genesis_is_refused_naming_the_problem(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        parse_genesis(doc(**overrides))


def test_genesis_that_is_not_json_is_refused() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_genesis("{chain_id: 1")


def test_missing_genesis_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_genesis(tmp_path / "absent.json")


def test_consortium_contract_with_code_in_alloc_is_accepted() -> None:
    contract = address(KEYS[3])
    genesis = parse_genesis(
        doc(consortium_contract=contract, alloc={contract: {"code": "0x6001", "storage": {"1": 2}}})
    )
    assert genesis.consortium_contract == contract
    assert genesis.genesis_state()[bytes.fromhex(contract[2:])]["storage"] == {1: 2}
