"""``medledger node ingest --amends RECORD --case CASE``: chain the new record as a version."""

from __future__ import annotations

from typing import Any, NoReturn

import typer

from keys.exceptions import KeysError
from keys.passphrase import read_passphrase
from keys.typing import CaseId
from node.anchor.records import parse_record_id
from node.anchor.versions import anchor_amendment
from node.bootstrap import chain_client, signing_account
from node.config import LoadedConfig
from node.exceptions import ChainError, ContractReverted, NodeError
from node.ingest.core import IngestReceipt
from node.service import NodeService


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def amend_record(
    cfg: LoadedConfig, node: NodeService, receipt: IngestReceipt, *, amends: str, case: str
) -> dict[str, Any]:
    """Anchor ``receipt``'s record as the next version of ``amends``; exit on failure."""
    try:
        previous, case_id = parse_record_id(amends), CaseId(parse_record_id(case))
        account = signing_account(cfg, read_passphrase())
        link = anchor_amendment(chain=chain_client(cfg, account), outbox=node.outbox(),
                                record_id=receipt.record_id, previous=previous,
                                case_id=case_id)  # fmt: skip
    except KeysError as exc:
        _fail(str(exc), 3)
    except ContractReverted as exc:
        _fail(f"the chain refused the version: {exc.error or exc}", 2)
    except ChainError as exc:
        _fail(f"cannot reach the chain: {exc}", 4)
    except NodeError as exc:
        _fail(str(exc))
    return {"previous": amends, "tx_hash": "0x" + link.tx_hash.hex(),
            "block_number": link.block_number}  # fmt: skip
