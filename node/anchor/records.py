"""Reading records back from the outbox: status, anchor and proof, as JSON-ready dicts.

No PHI leaves through here: a record is described by its id, kind, state, CID and its
anchor; the proof (which names the pseudonym and salt) is returned only on request.
"""

from __future__ import annotations

from typing import Any

from keys.typing import RecordId
from node.anchor.outbox import Outbox
from node.exceptions import InvalidField
from node.proof.json_codec import proof_to_json


def parse_record_id(text: str) -> RecordId:
    """A record id from its 64-hex-digit form (``0x`` allowed)."""
    raw = text[2:] if text.startswith("0x") else text
    try:
        value = bytes.fromhex(raw)
    except ValueError:
        raise InvalidField("a record id is 64 hex digits") from None
    if len(value) != 32:
        raise InvalidField("a record id is 64 hex digits")
    return RecordId(value)


def describe(outbox: Outbox, record_id: RecordId, *, with_proof: bool = False) -> dict[str, Any]:
    """Status of one record; raises ``UnknownRecord``."""
    entry = outbox.entry(record_id)
    state = outbox.state(record_id)
    out: dict[str, Any] = {
        "record_id": record_id.hex(),
        "kind": entry.kind.text,
        "state": state.value,
        "cid": entry.cid,
        "anchor": None,
    }
    if state.value != "pending":
        proof = outbox.proof(record_id)
        if proof.anchor is not None:
            out["anchor"] = {
                "tx_hash": "0x" + proof.anchor.tx_hash.hex(),
                "block_number": proof.anchor.block_number,
            }
        if with_proof:
            out["proof"] = proof_to_json(proof)
    return out
