"""An in-process audit trail for tests that exercise the HTTP layer, not the chain reader.

Traces come from dicts filled by the test; unknown ids raise ``UnknownSubject`` exactly
like :class:`gateway.audit.trail.ChainAuditTrail`. The chain-backed trail has its own tests
against anvil and our chain (``test_trace.py``, ``test_our_chain.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.abc import AuditTrailAPI
from gateway.audit.errors import UnknownSubject
from gateway.audit.model import Trace
from node.proof.record import RecordProof


@dataclass
class TableAuditTrail(AuditTrailAPI):
    auditors: set[str] = field(default_factory=set)
    records: dict[bytes, Trace] = field(default_factory=dict)
    cases: dict[bytes, Trace] = field(default_factory=dict)
    grants: dict[int, Trace] = field(default_factory=dict)

    def trace_record(
        self, *, record: bytes, proof: RecordProof | None = None, check_ciphertext: bool = False
    ) -> Trace:
        if record not in self.records:
            raise UnknownSubject("unknown record")
        return self.records[record]

    def trace_case(self, *, case: bytes, check_ciphertext: bool = False) -> Trace:
        if case not in self.cases:
            raise UnknownSubject("unknown case")
        return self.cases[case]

    def trace_grant(self, *, grant: int, check_ciphertext: bool = False) -> Trace:
        if grant not in self.grants:
            raise UnknownSubject("unknown grant")
        return self.grants[grant]

    def is_auditor(self, address: str) -> bool:
        return address in self.auditors
