"""Checks that the ciphertext anchored on chain still exists, unaltered, in a blob store.

CIDs are self-verifying: the blob store re-hashes every block on ``get`` and refuses one
that does not match, so streaming a blob to the end *is* the check (constant memory, no
key needed: the auditor never decrypts). A single anchor names the record's ciphertext; a
batch anchor names its manifest (the batch's salted commitments,
:mod:`node.formats.batch_manifest`), which is also decoded: its commitments must rebuild
the anchored root, in the anchored count.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.audit.model import CiphertextCheck, CiphertextStatus, TraceEvent
from node.blobstore.abc import BlobStoreAPI
from node.exceptions import BlobNotFound, BlobStoreError, CorruptedBlock, InvalidCID, ProofError
from node.formats.batch_manifest import decode_manifest
from node.typing import CID

#: Magic (8) + count (4) + root (32): see :mod:`node.formats.batch_manifest`.
MANIFEST_HEAD = 44
Outcome = tuple[CiphertextStatus, int | None, str]


def _anchored_cids(events: Iterable[TraceEvent]) -> list[tuple[str, str, TraceEvent]]:
    found = []
    for event in events:
        if event.kind == "RecordAnchored":
            found.append((str(event.args["cid"]), str(event.args["recordId"]), event))
        elif event.kind == "BatchAnchored":
            found.append((str(event.args["manifestCid"]), str(event.args["root"]), event))
    return found


def _stream(store: BlobStoreAPI, cid: str, *, keep: int) -> tuple[Outcome, bytes]:
    """Read ``cid`` to the end (every block verified), keeping at most ``keep`` bytes."""
    size = 0
    kept = bytearray()
    try:
        for chunk in store.get(CID(cid)):
            size += len(chunk)
            if len(kept) < keep:
                kept += chunk[: keep - len(kept)]
    except InvalidCID as exc:
        return (CiphertextStatus.INVALID_CID, None, f"not a CID: {exc}"), b""
    except BlobNotFound as exc:
        return (CiphertextStatus.MISSING, None, f"missing from the blob store: {exc}"), b""
    except CorruptedBlock as exc:
        return (CiphertextStatus.CORRUPTED, None, f"a block does not match its hash: {exc}"), b""
    except BlobStoreError as exc:
        # Unreadable (e.g. a malformed DAG node) is as bad as corrupted for an auditor.
        return (CiphertextStatus.CORRUPTED, None, f"unreadable: {exc}"), b""
    return (CiphertextStatus.OK, size, ""), bytes(kept)


def check_blob(store: BlobStoreAPI, cid: str) -> Outcome:
    """Stream ``cid`` to the end; its status, size when whole, and why not otherwise."""
    return _stream(store, cid, keep=0)[0]


def check_manifest(store: BlobStoreAPI, cid: str, *, root: str, count: int) -> Outcome:
    """Check the manifest blob, then that it is the manifest of batch ``root`` of ``count``."""
    expected = MANIFEST_HEAD + 32 * count
    (status, size, detail), data = _stream(store, cid, keep=expected)
    if status is not CiphertextStatus.OK:
        return status, size, detail
    if size != expected:
        return (
            CiphertextStatus.MISMATCH,
            None,
            f"{size} bytes; a manifest of {count} has {expected}",
        )
    try:
        found_root, commitments = decode_manifest(data)
    except ProofError as exc:
        return CiphertextStatus.MISMATCH, None, f"not a valid batch manifest: {exc}"
    if "0x" + found_root.hex() != root or len(commitments) != count:
        return CiphertextStatus.MISMATCH, None, "the manifest is for another batch root"
    return CiphertextStatus.OK, size, ""


def check_ciphertexts(events: Iterable[TraceEvent], store: BlobStoreAPI) -> list[CiphertextCheck]:
    """One check per anchored CID in ``events`` (each CID fetched once)."""
    seen: dict[str, Outcome] = {}
    checks = []
    for cid, subject, event in _anchored_cids(events):
        if cid not in seen and event.kind == "BatchAnchored":
            root, count = str(event.args["root"]), int(event.args["count"])
            seen[cid] = check_manifest(store, cid, root=root, count=count)
        elif cid not in seen:
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
