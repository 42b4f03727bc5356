"""The implementations of the seams one gateway runs with, handed to ``create_app``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.abc import AuditSourceAPI, CaseStoreAPI, ChainViewAPI, SessionStoreAPI


@dataclass(frozen=True, slots=True)
class Services:
    chain: ChainViewAPI
    cases: CaseStoreAPI
    sessions: SessionStoreAPI
    audit: AuditSourceAPI
    #: Seconds since the epoch; injectable so expiry is testable without sleeping.
    clock: Callable[[], float] = time.time
