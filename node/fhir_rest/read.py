"""``GET /fhir/Type/id``: decrypt the record and serve it only if it hashes to its anchor.

The same check as the gateway's readers (:func:`node.cases.read.plaintext.verified_plaintext`):
unwrap the data key with the hospital's keyring, decrypt the stream, compare the SHA-256
with the content hash the anchor commits to; anything else is refused, never served.
"""

from __future__ import annotations

import json
from typing import Any

from keys.abc import KeyringAPI
from keys.datakey import DataKey
from keys.exceptions import KeysError
from keys.typing import RecordId
from node.cases.read.plaintext import verified_plaintext
from node.exceptions import NodeError
from node.fhir_rest.outcome import FhirRestError
from node.ingest.adapters import KeyringWrapper
from node.ingest.core import DEK_AD, PAYLOAD_AD
from node.service import NodeService


def _unwrapper(node: NodeService, keyring: KeyringAPI | None) -> KeyringWrapper:
    if keyring is not None:
        return KeyringWrapper(keyring)
    if isinstance(node.parts.wrapper, KeyringWrapper):  # a node that ingests with its keyring
        return node.parts.wrapper
    raise FhirRestError(501, "this node holds no keyring to read with", code="not-supported")


def read_record(node: NodeService, record_id: RecordId,
                keyring: KeyringAPI | None = None) -> dict[str, Any]:  # fmt: skip
    """The verified resource of ``record_id`` (raises :class:`FhirRestError` otherwise).

    Ingest wraps data keys to the public key only (``node run`` seals without the private
    key); reading needs the hospital's keyring, which ``node run`` hands over from its case
    services (:func:`node.cli.serve.serve`).
    """
    wrapper = _unwrapper(node, keyring)
    entry = node.outbox().entry(record_id)
    if not entry.wrapped_key:
        raise FhirRestError(410, "the record was crypto-shredded", code="deleted")
    try:
        dek = DataKey(wrapper.unwrap(entry.wrapped_key, associated_data=DEK_AD + record_id))
        plain = verified_plaintext(
            blobs=node.parts.store.blobs, cid=entry.cid, dek=dek,
            aad=PAYLOAD_AD + record_id + entry.content_hash, sha256=entry.content_hash,
            what="the record", record_id=record_id,
        )  # fmt: skip
    except (KeysError, NodeError):
        raise FhirRestError(500, "the record cannot be verified against its anchored hash",
                            code="exception") from None  # fmt: skip
    resource: dict[str, Any] = json.loads(plain)
    return resource
