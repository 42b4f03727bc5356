"""Checks that the ciphertext anchored on chain still exists, unaltered, in a blob store.

CIDs are self-verifying: the blob store re-hashes every block on ``get`` and refuses one
that does not match, so streaming a blob to the end *is* the check (constant memory, no
key needed: the auditor never decrypts). A single anchor names the record's ciphertext; a
batch anchor names its manifest (the batch's salted commitments).
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.audit.model import CiphertextCheck, CiphertextStatus, TraceEvent
from node.abc import BlobStoreAPI
from node.exceptions import BlobNotFound, BlobStoreError, CorruptedBlock, InvalidCID
from node.typing import CID


def _anchored_cids(events: Iterable[TraceEvent]) -> list[tuple[str, str, TraceEvent]]:
    found = []
    for event in events:
        if event.kind == "RecordAnchored":
            found.append((str(event.args["cid"]), str(event.args["recordId"]), event))
        elif event.kind == "BatchAnchored":
            found.append((str(event.args["manifestCid"]), str(event.args["root"]), event))
    return found


def check_blob(store: BlobStoreAPI, cid: str) -> tuple[CiphertextStatus, int | None, str]:
    """Stream ``cid`` to the end; its status, size when whole, and why not otherwise."""
    size = 0
    try:
        for chunk in store.get(CID(cid)):
            size += len(chunk)
    except InvalidCID as exc:
        return CiphertextStatus.INVALID_CID, None, f"not a CID: {exc}"
    except BlobNotFound as exc:
        return CiphertextStatus.MISSING, None, f"missing from the blob store: {exc}"
    except CorruptedBlock as exc:
        return CiphertextStatus.CORRUPTED, None, f"a block does not match its hash: {exc}"
    except BlobStoreError as exc:
        # Unreadable (e.g. a malformed DAG node) is as bad as corrupted for an auditor.
        return CiphertextStatus.CORRUPTED, None, f"unreadable: {exc}"
    return CiphertextStatus.OK, size, ""


def check_ciphertexts(events: Iterable[TraceEvent], store: BlobStoreAPI) -> list[CiphertextCheck]:
    """One check per anchored CID in ``events`` (each CID fetched once)."""
    seen: dict[str, tuple[CiphertextStatus, int | None, str]] = {}
    checks = []
    for cid, subject, event in _anchored_cids(events):
        if cid not in seen:
            seen[cid] = check_blob(store, cid)
        status, size, detail = seen[cid]
        checks.append(
            CiphertextCheck(
                cid=cid,
                anchored_by=f"{event.kind} in block {event.block}",
                subject=subject,
                status=status,
                size=size,
                detail=detail,
            )
        )
    return checks
