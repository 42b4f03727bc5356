"""``medledger gateway run``: settings from the env file, listen address, clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from contracts.exceptions import TransactionFailed as ContractReverted
from gateway import exceptions as refusals
from gateway.cli import listen_address
from gateway.domain import PhysicianApproval
from gateway.typing import PhysicianAddress
from gateway.wiring.chain_view import redeem_args, refusal_for
from keys.signing import SigningKey
from keys.token_wire import SignedToken
from keys.tokens import TokenIssuer


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
        "TokenNotSignedByGrantor": refusals.TokenForged,
        "TokenNotForGrant": refusals.TokenForged,
        "PhysicianSignatureInvalid": refusals.RedemptionUnsigned,
        "RedemptionDeadlinePassed": refusals.RedemptionDeadline,
        "RedemptionReplayed": refusals.RedemptionReplayed,
    }
    for name, cls in cases.items():
        refusal = refusal_for(ContractReverted("reverted", error=name))
        assert type(refusal) is cls
        assert name in str(refusal)


def test_an_unknown_revert_is_a_chain_error_not_a_silent_success() -> None:
    refusal = refusal_for(ContractReverted("reverted", error=None))
    assert isinstance(refusal, refusals.ChainUnavailable)


def test_redeem_arguments_are_the_tokens_signed_fields_and_the_physicians_approval() -> None:
    key = SigningKey.generate()
    issuer = TokenIssuer(key, chain_id=4242, grants_contract="0x" + "cd" * 20)
    grant = (12).to_bytes(32, "big")
    token = issuer.issue(grant_id=grant, case_id=b"\x08" * 32, grantee="0x" + "ab" * 20,
                         scope_root=b"\x09" * 32, expiry=2_000_000_000)  # fmt: skip
    approval = PhysicianApproval(PhysicianAddress("0x" + "ef" * 20), b"\x01" * 32, 99, b"s" * 65)
    grant_no, fields, signature, signed = redeem_args(token, approval)
    decoded = SignedToken.decode(token)
    assert grant_no == 12 and signature == decoded.signature and len(signature) == 65
    assert fields == (grant, b"\x08" * 32, decoded.grantee, b"\x09" * 32, 2_000_000_000,
                      decoded.nonce)  # fmt: skip
    assert signed == ("0x" + "ef" * 20, b"\x01" * 32, 99, b"s" * 65)


def test_run_without_its_env_file_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "medledger", "gateway", "run", "--env-file", "nope.env"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"MEDLEDGER_PASSPHRASE": "x", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "nope.env does not exist" in result.stderr
