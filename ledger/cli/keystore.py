"""Validator and account keys as Ethereum keystore v3 files (eth-account), never in clear.

Files are created with mode 0600 from the start (no window where another user could read
them). The passphrase comes from ``MEDLEDGER_PASSPHRASE`` or a hidden prompt and is never
logged or echoed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from eth_account import Account

from ledger.exceptions import ConfigError

PASSPHRASE_ENV = "MEDLEDGER_PASSPHRASE"


class WrongPassphrase(ConfigError):
    """The keystore did not decrypt with the given passphrase."""


def passphrase(*, confirm: bool) -> str:
    """The keystore passphrase from the environment, or asked for without echo."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value is not None:
        if not value:
            raise ConfigError(f"{PASSPHRASE_ENV} is set but empty")
        return value
    value = str(typer.prompt("Keystore passphrase", hide_input=True, confirmation_prompt=confirm))
    if not value:
        raise ConfigError("an empty passphrase is not allowed")
    return value


def write_keystore(path: Path, private_key: bytes, secret: str) -> str:
    """Encrypt ``private_key`` into a new keystore file at ``path``; return its address."""
    document: dict[str, Any] = Account.encrypt(private_key, secret)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return str(Account.from_key(private_key).address)


def read_keystore(path: Path, secret: str) -> bytes:
    """Decrypt a keystore file; raises ``WrongPassphrase`` or ``ConfigError``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read keystore {path}: {exc}") from exc
    try:
        return bytes(Account.decrypt(document, secret))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise WrongPassphrase(f"wrong passphrase for keystore {path}") from None
        raise ConfigError(f"keystore {path} is not a valid v3 keystore") from None
