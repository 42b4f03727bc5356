"""Break-glass for a signed-in upper-tier physician: open, wait for the owner's keys, redeem.

Three steps, each one request: :func:`prepare` dry-runs ``Grants.breakGlass`` as the
physician (403 not upper tier, 429 rate limited, before anything is signed) and returns the
transaction to sign; :func:`open_glass` relays the signed transaction, then waits, bounded,
for the owner node's delivery of the case's keys to reach our node's inbox (409 when the
owner's node refused and revoked it on chain, 504 when nothing came: its node is down) and
returns the EIP-712
``Redemption`` (zero token nonce) to sign; :func:`redeem` records that opening on chain
and adds the grant to the session, after which the case is read through the same verified
path as a redeemed grant.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from gateway.abc import BreakGlassChainAPI, ChainViewAPI, InboxAPI, SessionStoreAPI
from gateway.domain import GrantState, PhysicianApproval, Redemption, Session
from gateway.exceptions import (
    BreakGlassDenied,
    BreakGlassNotReleased,
    ChainUnavailable,
    RedemptionDeadline,
    RedemptionUnsigned,
    UnknownGrant,
)
from gateway.services.redeem import MAX_DEADLINE_AHEAD_S, REDEMPTION_WINDOW_S, check_grant
from gateway.settings import GatewaySettings
from keys.typed_data import recover_signer, redemption_signable, redemption_typed_data
from keys.typing import CaseId, GrantId, HospitalAddress

#: How long ``open`` waits for the owner's delivery (its follower polls every second).
RELEASE_WAIT_S = 30.0
RELEASE_POLL_S = 0.2


def _need(chain: BreakGlassChainAPI | None) -> BreakGlassChainAPI:
    if chain is None:
        raise ChainUnavailable("this gateway has no break-glass chain client configured")
    return chain


def prepare(*, chain: BreakGlassChainAPI | None, session: Session, case: CaseId,
            grantor: HospitalAddress, reason_code: int, duration: int,
            max_uses: int) -> dict[str, object]:  # fmt: skip
    """The ``breakGlass`` transaction this physician signs (dry-run first)."""
    return _need(chain).prepare(physician=session.physician, case=case, grantor=grantor,
                                reason_code=reason_code, duration=duration,
                                max_uses=max_uses)  # fmt: skip


def _fields(settings: GatewaySettings, grant: int, nonce: bytes, deadline: int) -> dict[str, Any]:
    return {"chain_id": settings.chain_id, "grants_contract": settings.grants_contract,
            "grant_id": grant, "token_nonce": bytes(32), "nonce": nonce,
            "deadline": deadline}  # fmt: skip


Opened = tuple[int, bytes, int, dict[str, Any]]


def open_glass(*, settings: GatewaySettings, chain: BreakGlassChainAPI | None,
               view: ChainViewAPI, inbox: InboxAPI | None, session: Session,
               raw_transaction: bytes, now: float, wait_s: float | None = None,
               sleep: Callable[[float], None] = time.sleep) -> Opened:  # fmt: skip
    """Relay the signed ``breakGlass``, wait for the owner's keys; the Redemption to sign."""
    if inbox is None:
        raise ChainUnavailable("this gateway has no inbox (no node case store configured)")
    wait_s = RELEASE_WAIT_S if wait_s is None else wait_s
    grant = _need(chain).submit(physician=session.physician, raw_transaction=raw_transaction)
    wanted = GrantId(grant.to_bytes(32, "big"))
    deadline_wait = time.monotonic() + wait_s
    while not any(e.grant_id == wanted for e in inbox.entries()):
        state = view.grant_state(grant=wanted)
        if state is not None and state.revoked:  # the owner's node refuses by revoking
            raise BreakGlassDenied(
                f"the owner hospital refused break-glass grant {grant} (revoked on chain)"
            )
        if time.monotonic() >= deadline_wait:
            raise BreakGlassNotReleased(
                f"break-glass grant {grant} is open on chain but its owner released no keys "
                f"within {wait_s:.0f} s (its policy may deny break-glass)"
            )
        sleep(RELEASE_POLL_S)
    nonce, deadline = os.urandom(32), int(now) + REDEMPTION_WINDOW_S
    return grant, nonce, deadline, redemption_typed_data(**_fields(settings, grant, nonce,
                                                                    deadline))  # fmt: skip


def redeem(*, settings: GatewaySettings, chain: BreakGlassChainAPI | None,
           view: ChainViewAPI, sessions: SessionStoreAPI, session: Session, grant: int,
           nonce: bytes, deadline: int, signature: bytes,
           now: float) -> tuple[Redemption, GrantState]:  # fmt: skip
    """Record the opening with the physician's signature; the grant joins the session."""
    gid = GrantId(grant.to_bytes(32, "big"))
    state = view.grant_state(grant=gid)
    if state is None:
        raise UnknownGrant("the chain knows no such grant")
    check_grant(state=state, settings=settings, session=session, now=now)
    if deadline < now:
        raise RedemptionDeadline("the signed redemption's deadline has passed; sign a new one")
    if deadline > now + MAX_DEADLINE_AHEAD_S:
        raise RedemptionDeadline(f"the signed deadline is more than {MAX_DEADLINE_AHEAD_S} s ahead")
    signable = redemption_signable(**_fields(settings, grant, nonce, deadline))
    if recover_signer(signable, signature) != session.physician:
        raise RedemptionUnsigned("the redemption is not signed by this session's physician")
    approval = PhysicianApproval(physician=session.physician, nonce=nonce, deadline=deadline,
                                 signature=signature)  # fmt: skip
    redemption = _need(chain).redeem(grant=gid, approval=approval)
    sessions.add_grant(session.digest, gid)
    return redemption, state
