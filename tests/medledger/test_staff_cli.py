"""``medledger consortium staff``: bad input is refused before any key or chain is touched.

The on-chain paths (register, suspend, reinstate, list, decoded reverts) are tested against
four real validators in ``tests/integration/test_consortium_chain.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from medledger.consortium.staff import licence_hash
from tests.medledger.conftest import run_cli

ADDRESS = "0x" + "ab" * 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["register", "0x1234", "--role", "operator"], "not an account address"),
        (["register", ADDRESS, "--role", "nurse"], "unknown role"),
        (["register", ADDRESS, "--role", "physician"], "needs --licence"),
        (["register", ADDRESS, "--role", "physician", "--licence-hash", "0xabcd"], "32 bytes"),
        (["register", ADDRESS, "--role", "physician", "--licence", " "], "licence number is empty"),
        (["suspend", "not-an-address"], "not an account address"),
    ],
)
def test_bad_staff_input_exits_2_with_a_clear_message(
    consortium_dir: Path, args: list[str], message: str
) -> None:
    code, _, err = run_cli(
        ["consortium", "staff", *args, "--dir", str(consortium_dir), "--hospital", "village-clinic"]
    )
    assert code == 2
    assert message in err


def test_no_chain_exits_4_naming_the_url(consortium_dir: Path) -> None:
    """Port 1 of loopback: nothing listens there (no ledger runs in this module)."""
    where = ["--dir", str(consortium_dir), "--hospital", "county-hospital"]
    code, _, err = run_cli(["consortium", "staff", "list", *where, "--rpc", "http://127.0.0.1:1"])
    assert code == 4
    assert "no chain answers at http://127.0.0.1:1" in err


def test_an_unknown_hospital_exits_2(consortium_dir: Path) -> None:
    code, _, err = run_cli(["consortium", "staff", "list", "--dir", str(consortium_dir),
                            "--hospital", "nowhere"])  # fmt: skip
    assert code == 2
    assert "no hospital 'nowhere'" in err


def test_the_licence_hash_is_salted_so_equal_licences_differ_on_chain() -> None:
    first, salt_a = licence_hash("GP-1")
    second, salt_b = licence_hash("GP-1")
    assert salt_a != salt_b
    assert first != second
    assert licence_hash("GP-1", salt=salt_a)[0] == first  # the hospital can prove the link
    assert b"GP-1" not in first
