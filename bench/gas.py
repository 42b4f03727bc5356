"""Gas used per contract operation, on anvil (reference engine) and on our chain when built.

Gas is deterministic for a given EVM fork and state, so one measurement per operation is
exact; both engines run the Prague fork and must agree, which the result shows side by side.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from eth_utils.crypto import keccak

from contracts.artifacts import load_artifact
from contracts.tx import send
from contracts.typing import Role
from tests.contracts.backends import Chain, anvil_chain, medledger_chain
from tests.contracts.world import World, build_world

ZERO = "0x" + "00" * 20
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


FAR = 4_000_000_000  # an expiry in 2096, the same on every engine


def _measure(w: World) -> dict[str, int]:
    gas: dict[str, int] = {}
    # Fixed inputs: calldata gas depends on zero bytes, so every engine gets the same calldata.
    counter = itertools.count(1)

    def _rand() -> bytes:
        return keccak(text=f"bench-gas-{next(counter)}")

    def tx(label: str, actor: str, fn: Any) -> Any:
        receipt = w.tx(actor, fn)
        gas[label] = int(receipt["gasUsed"])
        return receipt

    c, a, r, g = (
        w.consortium.functions,
        w.anchors.functions,
        w.referrals.functions,
        w.grants.functions,
    )
    tx(
        "consortium.registerStaff",
        "county",
        c.registerStaff(w.addr("spare1"), int(Role.PHYSICIAN), _rand()),
    )
    tx("consortium.suspendStaff", "county", c.suspendStaff(w.addr("spare1")))
    tx("consortium.rotateEncryptionKey", "county", c.rotateEncryptionKey(b"\x07" * 32))
    tx("consortium.rotateValidatorKey", "county", c.rotateValidatorKey(w.addr("val_spare1")))
    rec = tx("consortium.proposeSuspension", "county", c.proposeSuspension(w.addr("village")))
    pid = w.one_event(rec, w.consortium, "ProposalCreated")["proposalId"]
    tx("consortium.vote", "county2", c.vote(pid))
    tx("consortium.vote(executes)", "tertiary", c.vote(pid))
    rec = tx("consortium.proposeReinstatement", "county", c.proposeReinstatement(w.addr("village")))
    pid = w.one_event(rec, w.consortium, "ProposalCreated")["proposalId"]
    tx("consortium.vote", "county2", c.vote(pid))
    tx("consortium.vote(executes)", "tertiary", c.vote(pid))

    case, v1, v2 = _rand(), _rand(), _rand()
    tx("anchors.anchorRecord", "village", a.anchorRecord(v1, 0, _rand(), CID, case, b"\0" * 32))
    tx("anchors.anchorRecord(amend)", "village", a.anchorRecord(v2, 0, _rand(), CID, case, v1))
    tx("anchors.anchorBatch", "village", a.anchorBatch(_rand(), 256, CID))

    later = FAR
    rec = tx("referrals.initiate", "village", r.initiate(case, w.addr("county"), 7, later))
    rid = w.one_event(rec, w.referrals, "ReferralInitiated")["referralId"]
    tx("referrals.accept", "county", r.accept(rid))
    rec = tx(
        "grants.issue", "village", g.issue(rid, w.addr("county"), ZERO, _rand(), FAR - 1000, 3)
    )
    gid = w.one_event(rec, w.grants, "GrantIssued")["grantId"]
    # Two ecrecovers each: the grantor's token and the physician's Redemption.
    once = {"token_nonce": _rand(), "deadline": FAR}
    tx("grants.redeem(physician)", "doc_county", w.redeem(gid, "doc_county", nonce=_rand(), **once))
    tx("grants.redeem(operator)", "op_county", w.redeem(gid, "doc_county", nonce=_rand(), **once))
    tx("grants.revoke", "village", g.revoke(gid))
    tx("referrals.complete", "county", r.complete(rid))
    tx("referrals.referBack", "county", r.referBack(rid, 3, later))
    rid2, _ = w.refer("village", "county", accept=False)
    tx("referrals.decline", "county", r.decline(rid2, 1))
    rid3, _ = w.refer("village", "county", accept=False)
    tx("referrals.cancel", "village", r.cancel(rid3))
    rec = tx(
        "grants.breakGlass",
        "doc_tertiary",
        g.breakGlass(_rand(), w.addr("village"), _rand(), 5, 900, 1),
    )
    glass = w.one_event(rec, w.grants, "BreakGlassAccess")["grantId"]
    tx("grants.redeemBreakGlass", "doc_tertiary",
       w.redeem_break_glass(glass, "doc_tertiary", nonce=_rand(), deadline=FAR))  # fmt: skip
    tx("grants.reviewBreakGlass", "village", g.reviewBreakGlass(glass, True, _rand()))
    return gas


def _deploy(w: World) -> dict[str, int]:
    """Creation gas of each contract (Consortium with one founder, no auditor)."""
    gas: dict[str, int] = {}
    founder = (
        w.addr("spare2"),
        "h",
        1,
        b"\x01" * 32,
        "http://127.0.0.1:1",
        True,
        w.addr("val_spare2"),
    )
    args: dict[str, tuple[Any, ...]] = {
        "Consortium": ([founder], [], 60, 86400),
        "Anchors": (w.deployment.consortium,),
        "Referrals": (w.deployment.consortium,),
        "Grants": (w.deployment.consortium, w.deployment.referrals, 3600, 3, 86400),
    }
    for name, ctor_args in args.items():
        art = load_artifact(name)
        factory = w.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        receipt = send(w.w3, w.acct["deployer"], factory.constructor(*ctor_args))
        gas[f"deploy.{name}"] = int(receipt["gasUsed"])
    return gas


def _on(backend: Callable[[], AbstractContextManager[Chain]]) -> dict[str, Any]:
    try:
        ctx = backend()
        chain = ctx.__enter__()
    except RuntimeError as exc:
        return {"available": False, "reason": str(exc)}
    try:
        w = build_world(chain)
        return {"available": True, "gas_used": {**_deploy(w), **_measure(w)}}
    finally:
        ctx.__exit__(None, None, None)


def run() -> dict[str, Any]:
    backends: dict[str, Callable[[], AbstractContextManager[Chain]]] = {
        "anvil": anvil_chain,
        "medledger": medledger_chain,
    }
    result = {name: _on(b) for name, b in backends.items()}
    a, m = result["anvil"], result["medledger"]
    if a.get("available") and m.get("available"):
        result["engines_agree"] = a["gas_used"] == m["gas_used"]
    return result
