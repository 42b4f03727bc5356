"""The event follower: tails ``Referrals``/``Grants`` logs and acts on those about us.

Each range of blocks is applied in one SQLite transaction together with the cursor (the
next block to read), so after a crash or restart the follower resumes exactly where its
last committed range ended: no event is applied twice (``effects`` has a unique row per
log, and a second insert would fail loudly) and none is skipped. The chain has BFT
finality, so a processed block never changes.

Work that needs the network (fetching a grant package and the case's ciphertexts from the
grantor, unpinning after a revocation) runs after the commit, from the grant's state, and
is retried on the next poll until it succeeds.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass

from contracts.events import LogEvent as CaseEvent
from node.cases import breakglass
from node.cases.crypto import dek_binding
from node.cases.delivery import is_break_glass
from node.cases.package import MAX_PACKAGE_BYTES, GrantPackage
from node.cases.replicate import BlockFetcher, fetch_bytes, replicate
from node.cases.sealed import open_package
from node.cases.service import CaseServices
from node.cases.store import CaseStore
from node.cases.studies import instance_cids
from node.exceptions import BlobNotFound, GrantPackageError, NodeError
from node.typing import CID

log = logging.getLogger(__name__)

_REFERRAL_STATUS = {
    "ReferralAccepted": "accepted",
    "ReferralDeclined": "declined",
    "ReferralCompleted": "completed",
    "ReferralCancelled": "cancelled",
}


@dataclass(frozen=True, slots=True)
class PollResult:
    events: int
    applied: int
    replicated: list[int]
    unpinned: int
    next_block: int


class Follower:
    """Follows the chain for one hospital; call :meth:`poll_once` or :meth:`run`.

    Parameters
    ----------
    start_block
        Where a fresh follower (no cursor yet) starts: the deployment block of the suite.
    max_range
        Blocks per ``eth_getLogs`` call (and per transaction).
    """

    def __init__(self, services: CaseServices, *, start_block: int = 0, max_range: int = 1000):
        self._s = services
        self._start = start_block
        self._max_range = max_range
        self._me = services.chain.address
        self._lock = threading.Lock()

    def poll_once(self) -> PollResult:
        """Apply every new event up to the head, then do the pending network work.

        Serialized: the background thread and ``POST /follower/poll`` may call it at once.
        """
        with self._lock:
            return self._poll()

    def _poll(self) -> PollResult:
        store = self._s.store
        head = self._s.chain.head()
        nxt = store.next_block(self._start)
        seen = applied = 0
        while nxt <= head:
            to = min(head, nxt + self._max_range - 1)
            events = self._s.chain.events(nxt, to)
            with store.transaction() as db:
                for event in events:
                    applied += self._apply(db, event)
                CaseStore.set_next_block(db, to + 1)
            seen += len(events)
            nxt = to + 1
        breakglass.release_pending(self._s)  # our cases opened by break-glass: keys go out
        replicated = self.replicate_pending()
        unpinned = self.unpin_revoked()
        return PollResult(seen, applied, replicated, unpinned, nxt)

    def run(self, stop: threading.Event, *, interval_s: float = 1.0) -> None:
        """Poll until ``stop`` is set; errors are logged and retried at the next tick."""
        while not stop.is_set():
            try:
                self.poll_once()
            except NodeError as exc:
                log.warning("follower: %s (retrying)", exc)
            except Exception:  # the thread must outlive any one failure; it retries
                log.exception("follower pass failed (retrying)")
            stop.wait(interval_s)

    # -- applying events (inside the range's transaction) -----------------------------------

    def _apply(self, db: sqlite3.Connection, event: CaseEvent) -> int:
        a = event.args
        if event.name == "ReferralInitiated":
            if self._me not in (a["initiator"], a["target"]):
                return 0
            db.execute(
                "INSERT INTO referrals (referral_id, case_id, initiator, target, status, block) "
                "VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (referral_id) DO NOTHING",
                (a["referralId"], a["caseId"], a["initiator"], a["target"], event.block_number),
            )
        elif event.name in _REFERRAL_STATUS:
            cur = db.execute(
                "UPDATE referrals SET status = ? WHERE referral_id = ?",
                (_REFERRAL_STATUS[event.name], a["referralId"]),
            )
            if cur.rowcount == 0:
                return 0  # not one of ours
        elif event.name == "GrantIssued":
            if a["grantee"] != self._me:
                return 0  # grants we issued are noted by issue_grant itself
            db.execute(
                "INSERT INTO grants (grant_id, direction, referral_id, case_id, grantor, "
                "grantee, scope_root, expires_at, state) "
                "VALUES (?, 'received', ?, ?, ?, ?, ?, ?, 'announced') "
                "ON CONFLICT (grant_id) DO NOTHING",
                (a["grantId"], a["referralId"], a["caseId"], a["grantor"], a["grantee"],
                 a["scopeRoot"], a["expiresAt"]),
            )  # fmt: skip
        elif event.name == "BreakGlassAccess":
            if not breakglass.apply_opening(db, self._s, event):
                return 0
        elif event.name == "BreakGlassReviewed":
            if not breakglass.apply_review(db, self._s, event):
                return 0
        elif event.name == "GrantRevoked":
            cur = db.execute(
                "UPDATE grants SET state = 'revoked' WHERE grant_id = ?", (a["grantId"],)
            )
            if cur.rowcount == 0:
                return 0
        else:
            return 0
        db.execute(
            "INSERT INTO effects (block, log_index, event) VALUES (?, ?, ?)",
            (event.block_number, event.log_index, event.name),
        )
        return 1

    # -- network work after the commit ------------------------------------------------------

    def replicate_pending(self) -> list[int]:
        """Fetch, verify and pin the packages and ciphertexts of grants announced to us."""
        done = []
        for row in self._s.store.grants("received"):
            if row["state"] != "announced" or row["package_cid"] is None:
                continue  # not delivered yet: the token brings the package CID
            try:
                self._replicate(row)
                done.append(int(row["grant_id"]))
            except (NodeError, OSError) as exc:
                log.warning("grant %s not replicated yet: %s", row["grant_id"], exc)
        return done

    def _replicate(self, row: dict[str, object]) -> None:
        grant_id = int(str(row["grant_id"]))
        endpoint = self._s.chain.member(str(row["grantor"])).endpoint
        fetch = BlockFetcher(endpoint, client=self._s.http)
        package_cid = CID(str(row["package_cid"]))
        blob = fetch_bytes(package_cid, fetch, limit=MAX_PACKAGE_BYTES)
        package = open_package(blob, self._s.keyring, grant_id=grant_id)
        self._check_package(package, row)
        for record in package.records:  # a key we cannot unwrap is refused before pinning
            self._s.keyring.unwrap(record.wrapped_key, record_id=dek_binding(record.record_id))
        cids = [package_cid, *(r.cid for r in package.records)]
        for cid in cids:
            replicate(cid, fetch=fetch, store=self._s.blobs)
        for record in package.records:  # a study's instances, named by its manifest
            for cid in instance_cids(record, store=self._s.blobs, keyring=self._s.keyring):
                replicate(cid, fetch=fetch, store=self._s.blobs)
                cids.append(cid)
        stale = set(self._s.store.pins_of(grant_id)) - set(cids)
        with self._s.store.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO grant_pins (grant_id, cid) VALUES (?, ?)",
                [(grant_id, c) for c in cids],
            )
            db.executemany(
                "DELETE FROM grant_pins WHERE grant_id = ? AND cid = ?",
                [(grant_id, c) for c in stale],
            )
            db.execute(
                "UPDATE grants SET state = 'replicated' WHERE grant_id = ? AND state = 'announced'",
                (grant_id,),
            )
        for old in stale:  # a re-keyed grant: the old package and ciphertexts go
            self._unpin_unless_used(CID(old))
        log.info("grant %d: %d blobs replicated and pinned", grant_id, len(cids))

    def _check_package(self, package: GrantPackage, row: dict[str, object]) -> None:
        # A break-glass grant asks for the whole case (``breakglass.WHOLE_CASE``): the
        # records are whatever its owner holds of the case, each still checked on chain.
        whole_case = is_break_glass(row) and row["scope_root"] == breakglass.WHOLE_CASE
        if (package.grant_id != row["grant_id"] or package.grantee != self._me
                or package.grantor != row["grantor"] or package.case_id != row["case_id"]
                or (not whole_case and package.scope_root != row["scope_root"])
                or package.chain_id != self._s.chain.chain_id
                or package.grants_contract != self._s.chain.grants_address):  # fmt: skip
            raise GrantPackageError("the grant package does not match the grant on chain")

    def unpin_revoked(self) -> int:
        """Drop our copies of a revoked grant's blobs unless a live grant still needs them."""
        rows = self._s.store.query(
            "SELECT p.grant_id, p.cid FROM grant_pins p JOIN grants g USING (grant_id) "
            "WHERE g.state = 'revoked'"
        )
        unpinned = 0
        for grant_id, cid in rows:
            unpinned += self._unpin_unless_used(CID(cid))
            with self._s.store.transaction() as db:
                db.execute("DELETE FROM grant_pins WHERE grant_id = ? AND cid = ?", (grant_id, cid))
        return unpinned

    def _unpin_unless_used(self, cid: CID) -> int:
        """Unpin ``cid`` unless the pins of a grant still live name it; return 1 if unpinned."""
        still = self._s.store.query(
            "SELECT 1 FROM grant_pins p JOIN grants g USING (grant_id) "
            "WHERE p.cid = ? AND g.state != 'revoked'",
            (cid,),
        )
        if still:
            return 0
        try:
            self._s.blobs.unpin(cid)
            return 1
        except BlobNotFound:
            return 0
