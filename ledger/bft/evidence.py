"""Evidence of equivocation: one structured log line and one line of ``evidence.jsonl``.

A validator that signs two different messages for one (height, round, kind) is reported
by the state machine (:class:`ledger.consensus.Equivocation`); the record keeps message
hashes and signatures only, so the file can be handed to the consortium as proof
(``ledger.consensus.verify_equivocation`` checks it without trusting this node).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from eth_hash.auto import keccak

from ledger.consensus import Equivocation, encode_equivocation

log = logging.getLogger(__name__)


class EvidenceLog:
    """The equivocations seen by this node: in memory (RPC) and appended to ``path``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.records: list[dict[str, object]] = []

    def report(self, evidence: Equivocation) -> None:
        record: dict[str, object] = {
            "event": "equivocation",
            "offender": "0x" + evidence.offender.hex(),
            "height": evidence.first.height,
            "round": evidence.first.round,
            "evidence": "0x" + encode_equivocation(evidence).hex(),
        }
        self.records.append(record)
        log.warning("equivocation evidence %s", json.dumps(record))
        with self._path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def evidence_digest(record: dict[str, object]) -> str:
    """A short stable id of an evidence record (for logs and RPC)."""
    return "0x" + bytes(keccak(json.dumps(record, sort_keys=True).encode())).hex()
