"""``medledger gateway run``: settings from the env file, listen address, clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from contracts.exceptions import TransactionFailed as ContractReverted
from gateway import exceptions as refusals
from gateway.cli import listen_address
from gateway.wiring.chain_view import redemption_nonce, refusal_for


def test_a_loopback_public_url_is_served_on_loopback_at_its_port() -> None:
    assert listen_address("http://127.0.0.1:27103") == ("127.0.0.1", 27103)


def test_a_public_host_name_means_listening_on_every_interface() -> None:
    assert listen_address("http://county-hospital:8080") == ("0.0.0.0", 8080)


def test_each_redeem_revert_becomes_the_matching_refusal() -> None:
    cases = {
        "GrantIsRevoked": refusals.GrantRevoked,
        "GrantExpired": refusals.GrantExpired,
        "GrantExhausted": refusals.GrantExhausted,
        "ReferralNotActive": refusals.NotReferred,
        "PhysicianNotNamedInGrant": refusals.WrongPhysician,
        "PhysicianNotActiveAtGrantee": refusals.PhysicianSuspended,
        "NotAuthorizedToRedeem": refusals.WrongHospital,
    }
    for name, cls in cases.items():
        refusal = refusal_for(ContractReverted("reverted", error=name))
        assert type(refusal) is cls
        assert name in str(refusal)


def test_an_unknown_revert_is_a_chain_error_not_a_silent_success() -> None:
    refusal = refusal_for(ContractReverted("reverted", error=None))
    assert isinstance(refusal, refusals.ChainUnavailable)


def test_one_token_gives_one_redemption_nonce() -> None:
    assert redemption_nonce("a.b.c") == redemption_nonce("a.b.c")
    assert redemption_nonce("a.b.c") != redemption_nonce("a.b.d")
    assert len(redemption_nonce("a.b.c")) == 32


def test_run_without_its_env_file_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "medledger", "gateway", "run", "--env-file", "nope.env"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"MEDLEDGER_PASSPHRASE": "x", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "nope.env does not exist" in result.stderr
