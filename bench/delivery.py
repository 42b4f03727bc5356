"""Grant issue on the lower tier to the case in the upper tier's inbox (issue 15), signed.

Workload: a real chain process and three hospitals (``tests.integration.cases_world``: real
keystores, blob stores, node APIs on loopback). Per sample: a fresh case of one anchored
record, referred and accepted (not timed); then timed from ``POST /grants`` on the village
node (wrap keys, ``Grants.issue``, package, token, signed ``GrantDelivery`` to the county
node, which checks token, chain, signer and freshness) to the first ``GET /grants/inbox``
on the county node that lists it. The delivery's own cost is measured apart: signing and
checking a ``GrantDelivery`` against verifying the access token it carries (the reference:
what the receiver paid before deliveries were signed).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from keys.delivery import GrantDelivery
from keys.signing import SigningKey
from keys.tokens import TokenIssuer, TokenVerifier
from tests.integration.cases_world import consortium
from tests.integration.test_case_grants import _attach, _later, _new_case, _refer

SAMPLES = 20
CRYPTO_REPEATS = 300


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _inbox_latency() -> dict[str, Any]:
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, consortium(Path(tmp)) as world:
        village, county = world["village"], world["county"]
        for _ in range(SAMPLES):
            case = _new_case()
            _attach(world, case, 1)
            referral = _refer(world, case)
            assert county.api("POST", f"/referrals/{referral}/accept").status_code == 200
            started = time.perf_counter()
            resp = village.api("POST", "/grants", json={"case_id": case, "to": county.address,
                               "expires_at": _later(1800), "max_uses": 2})  # fmt: skip
            assert resp.status_code == 200 and resp.json()["delivered"], resp.text
            grant_id = resp.json()["grant_id"]
            while not any(g["grant_id"] == grant_id
                          for g in county.api("GET", "/grants/inbox").json()):  # fmt: skip
                time.sleep(0.01)
            latencies.append(time.perf_counter() - started)
    return {"samples": SAMPLES, "p50_s": round(_pct(latencies, 0.5), 4),
            "p99_s": round(_pct(latencies, 0.99), 4),
            "max_s": round(max(latencies), 4)}  # fmt: skip


def _crypto() -> dict[str, Any]:
    grantor, grantee = SigningKey.generate(), SigningKey.generate()
    contract = "0x" + "5a" * 20
    issuer = TokenIssuer(grantor, chain_id=4242, grants_contract=contract)
    verifier = TokenVerifier(chain_id=4242, grants_contract=contract, grantee=grantee.address)
    token = issuer.issue(grant_id=b"\x01" * 32, case_id=b"\x02" * 32, grantee=grantee.address,
                         scope_root=b"\x03" * 32, expiry=2**40)  # fmt: skip
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    delivery = GrantDelivery.of(token=token, package_cid=cid, issued_at=1_800_000_000)
    signature = issuer.sign_delivery(delivery)

    def per_op(fn: Any) -> float:
        started = time.perf_counter()
        for _ in range(CRYPTO_REPEATS):
            fn()
        return (time.perf_counter() - started) / CRYPTO_REPEATS * 1e6

    verify_token = per_op(lambda: verifier.verify_at_time(token, issuer=grantor.address, now=1))

    def check_one() -> object:
        received = GrantDelivery.of(token=token, package_cid=cid, issued_at=1_800_000_000)
        return verifier.delivery_signer(received, signature)

    check = per_op(check_one)
    sign = per_op(lambda: issuer.sign_delivery(delivery))
    return {"repeats": CRYPTO_REPEATS, "token_verify_us": round(verify_token, 1),
            "delivery_check_us": round(check, 1), "delivery_sign_us": round(sign, 1),
            "check_over_token_verify": round(check / verify_token, 3)}  # fmt: skip


def run() -> dict[str, Any]:
    return {"issue_to_inbox": _inbox_latency(), "delivery_signature": _crypto()}
