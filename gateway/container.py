"""The implementations of the seams one gateway runs with, handed to ``create_app``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.abc import (
    AuditSourceAPI,
    AuditTrailAPI,
    BreakGlassChainAPI,
    CaseStoreAPI,
    ChainViewAPI,
    InboxAPI,
    SessionStoreAPI,
)
from gateway.disclosure.anchor import Anchorer
from gateway.memory import MemorySessionStore


@dataclass(frozen=True, slots=True)
class Services:
    chain: ChainViewAPI
    cases: CaseStoreAPI
    sessions: SessionStoreAPI
    audit: AuditSourceAPI
    #: Seconds since the epoch; injectable so expiry is testable without sleeping.
    clock: Callable[[], float] = time.time
    #: Traces for the auditor API; ``None`` answers its routes with 503.
    trail: AuditTrailAPI | None = None
    #: Grants delivered to the hospital's node; ``None`` answers ``GET /inbox`` with 503.
    inbox: InboxAPI | None = None
    #: Break-glass on chain; ``None`` answers ``/break-glass`` with 503.
    break_glass: BreakGlassChainAPI | None = None
    #: Auditor challenges and sessions: a store of their own, never the physicians'.
    auditor_sessions: SessionStoreAPI = field(default_factory=MemorySessionStore)
    #: The disclosure log (and its anchoring); ``None`` serves reads unaccounted (unit tests
    #: of other seams only: ``build_services`` always sets one).
    disclosures: Anchorer | None = None
