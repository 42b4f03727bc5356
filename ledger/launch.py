"""``open_ledger``: the running node for a genesis, one validator or a consortium's.

What ``medledger ledger run`` serves: a :class:`ledger.producer.ProducingLedger` when the
genesis names one validator (or the node has no ``p2p`` section), else a
:class:`ledger.validator.ValidatorNode` deciding blocks with its peers. Both decide
through the consensus driver; only the second needs the network.
"""

from __future__ import annotations

from pathlib import Path

from eth_keys.datatypes import PrivateKey

from ledger.chain import Ledger
from ledger.config import load_genesis
from ledger.exceptions import ConfigError
from ledger.facade import LedgerFacade
from ledger.p2p.config import P2PSettings
from ledger.producer import ProducingLedger
from ledger.typing import Address
from ledger.validator import ValidatorNode


def _refuse_an_account_key(ledger: Ledger, key: bytes) -> None:
    """A validator must not run with a key that may transact (a member's or staff's).

    Under a ``Consortium`` the validator key is its own (``validator/validator.json``); a
    ``ledger.json`` pointing at the hospital's signing key would put the key that sends
    transactions and signs access tokens on the validator host, which is what separate keys
    prevent. Checked on the head state, so it holds for keys registered after genesis too.
    """
    address = Address(bytes(PrivateKey(key).public_key.to_canonical_address()))
    if ledger.permissions.is_permitted(address):
        ledger.close()
        raise ConfigError(
            f"the validator key 0x{address.hex()} is an account that may transact (a member "
            "or staff key); run the ledger with the hospital's validator key "
            "(validator/validator.json), never its signing key"
        )


def open_ledger(
    *, genesis: Path, data_dir: Path, validator_key: bytes, p2p: P2PSettings | None = None
) -> LedgerFacade:
    """Open (or create) the chain in ``data_dir`` and start making blocks.

    With ``p2p`` settings and more than one genesis validator, blocks come from consensus
    with the other validators (:class:`ledger.validator.ValidatorNode`).

    Raises ``ConfigError`` for a bad genesis or a validator key that is an account (see
    :func:`_refuse_an_account_key`) and ``StorageError`` for a data dir that belongs to
    another chain or is locked by another process.
    """
    config = load_genesis(genesis)
    ledger = Ledger(data_dir, config, validator_key=validator_key)
    if config.consortium_contract is not None:
        _refuse_an_account_key(ledger, validator_key)
    if p2p is None or len(config.validators) == 1:
        return ProducingLedger(ledger)
    try:
        return ValidatorNode(ledger, key=validator_key, settings=p2p, data_dir=Path(data_dir))
    except BaseException:
        ledger.close()  # idempotent
        raise
