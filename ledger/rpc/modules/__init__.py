"""The RPC modules served by a node; :func:`default_modules` is what ``ledger run`` mounts."""

from __future__ import annotations

from ledger.abc import LedgerAPI
from ledger.rpc.modules.eth_chain import EthChain
from ledger.rpc.modules.eth_fees import EthFees
from ledger.rpc.modules.eth_filters import EthFilters
from ledger.rpc.modules.eth_logs import EthLogs
from ledger.rpc.modules.eth_state import EthState
from ledger.rpc.modules.misc import EthStatic, Medledger, Net, Web3
from ledger.rpc.registry import RPCModule


def default_modules(
    ledger: LedgerAPI, *, client_version: str, max_filters_per_client: int = 100
) -> list[RPCModule]:
    logs = EthLogs(ledger)
    return [
        EthChain(ledger),
        EthState(ledger),
        logs,
        EthFilters(ledger, logs, per_client=max_filters_per_client),
        EthFees(ledger),
        EthStatic(),
        Net(ledger),
        Web3(client_version),
        Medledger(ledger),
    ]
