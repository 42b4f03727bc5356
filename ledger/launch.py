"""``open_ledger``: the running node for a genesis, one validator or a consortium's.

What ``medledger ledger run`` serves: a :class:`ledger.producer.ProducingLedger` when the
genesis names one validator (or the node has no ``p2p`` section), else a
:class:`ledger.validator.ValidatorNode` deciding blocks with its peers. Both decide
through the consensus driver; only the second needs the network.
"""

from __future__ import annotations

from pathlib import Path

from ledger.chain import Ledger
from ledger.config import load_genesis
from ledger.facade import LedgerFacade
from ledger.p2p.config import P2PSettings
from ledger.producer import ProducingLedger
from ledger.validator import ValidatorNode


def open_ledger(
    *, genesis: Path, data_dir: Path, validator_key: bytes, p2p: P2PSettings | None = None
) -> LedgerFacade:
    """Open (or create) the chain in ``data_dir`` and start making blocks.

    With ``p2p`` settings and more than one genesis validator, blocks come from consensus
    with the other validators (:class:`ledger.validator.ValidatorNode`).

    Raises ``ConfigError`` for a bad genesis and ``StorageError`` for a data dir that belongs
    to another chain or is locked by another process.
    """
    config = load_genesis(genesis)
    ledger = Ledger(data_dir, config, validator_key=validator_key)
    if p2p is None or len(config.validators) == 1:
        return ProducingLedger(ledger)
    try:
        return ValidatorNode(ledger, key=validator_key, settings=p2p, data_dir=Path(data_dir))
    except BaseException:
        ledger.close()  # idempotent
        raise
