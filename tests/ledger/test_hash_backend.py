"""The node hashes with eth-hash's pysha3 backend (the fast one), whatever imports first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import {module}\n"
    "from eth_hash.auto import keccak\n"
    "from eth_hash.backends import pycryptodome\n"
    "data = bytes(range(256)) * 3\n"
    "assert keccak(data) == pycryptodome.keccak256(data)\n"
    "print(type(keccak.hasher.__self__).__name__)\n"
)


@pytest.mark.parametrize("module", ["ledger.chain", "medledger.cli"])
def test_importing_the_ledger_selects_the_pysha3_keccak_backend(module: str) -> None:
    # a fresh interpreter: eth-hash chooses its backend once, at the first hash
    env = {k: v for k, v in os.environ.items() if k != "ETH_HASH_BACKEND"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "PySha3Backend"


def test_an_explicit_backend_choice_in_the_environment_wins() -> None:
    env = {**os.environ, "ETH_HASH_BACKEND": "pycryptodome"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module="ledger.chain")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "CryptodomeBackend"
