"""Reading a redeemed case's records: listed from the case store, served only once verified."""

from __future__ import annotations

import base64
import io
from collections.abc import Collection, Iterator
from typing import BinaryIO

from fastapi.responses import Response, StreamingResponse

from gateway.abc import CaseStoreAPI
from gateway.disclosure.entry import Kind
from gateway.disclosure.exceptions import DisclosureError
from gateway.disclosure.recorder import Discloser
from gateway.domain import RecordInfo
from gateway.exceptions import NotFound
from keys.typing import CaseId, GrantId, RecordId

CHUNK = 256 * 1024


def list_case(
    *, cases: CaseStoreAPI, grants: Collection[GrantId], case: CaseId
) -> list[RecordInfo]:
    """The records of ``case`` the session may read (empty if none: no existence leak)."""
    return [r for r in cases.list_records(grants=grants) if r.case_id == case]


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := stream.read(CHUNK):
            yield chunk
    finally:
        stream.close()


def serve(*, cases: CaseStoreAPI, grants: Collection[GrantId], disclose: Discloser,
          record: RecordId) -> Response:  # fmt: skip
    """A record's verified plaintext with its media type and digest (RFC 9530).

    ``open_record`` has already re-hashed the whole plaintext against the anchored
    commitment, so the ``Repr-Digest`` sent here is the anchored hash, and a client can
    check it again. Plaintext the store verified in memory goes out in one piece (no
    per-chunk thread handoffs); a store that hands over a spooled file is streamed.
    """
    stream = cases.open_record(grants=grants, record=record)  # verified; NotFound outside
    info = next((r for r in cases.list_records(grants=grants) if r.record_id == record), None)
    if info is None:
        stream.close()
        raise NotFound("no such record under this session's grants")
    try:  # accounted before the first byte goes out; unaccountable means not served
        disclose.record(kind=Kind.RECORD, grant=info.grant_id, record=record, size=info.size)
    except DisclosureError:
        stream.close()
        raise
    digest = base64.b64encode(info.content_hash).decode()
    headers = {"Repr-Digest": f"sha-256=:{digest}:"}
    if isinstance(stream, io.BytesIO):
        return Response(stream.getvalue(), media_type=info.media_type, headers=headers)
    headers["Content-Length"] = str(info.size)
    return StreamingResponse(_chunks(stream), media_type=info.media_type, headers=headers)
