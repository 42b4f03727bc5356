"""Where a keystore passphrase comes from: an environment variable, else a hidden prompt.

The passphrase is held in a local variable only as long as it is needed; it is never
logged, printed or written anywhere.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Mapping

from keys.exceptions import PassphraseUnavailable

PASSPHRASE_ENV = "MEDLEDGER_PASSPHRASE"
MIN_NEW_PASSPHRASE = 12


def read_passphrase(
    *,
    confirm: bool = False,
    env: Mapping[str, str] | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
    interactive: bool | None = None,
) -> str:
    """Return the passphrase from ``$MEDLEDGER_PASSPHRASE`` or a prompt on the terminal.

    Parameters
    ----------
    confirm
        For a new keystore: ask twice, and insist on at least ``MIN_NEW_PASSPHRASE``
        characters (from the environment too).
    """
    env = os.environ if env is None else env
    value = env.get(PASSPHRASE_ENV)
    if value is None:
        if interactive is None:
            interactive = sys.stdin.isatty()
        if not interactive:
            raise PassphraseUnavailable(
                f"no passphrase: set {PASSPHRASE_ENV} or run on a terminal to be prompted"
            )
        value = prompt("Keystore passphrase: ")
        if confirm and prompt("Repeat passphrase: ") != value:
            raise PassphraseUnavailable("the two passphrases differ")
    if not value:
        raise PassphraseUnavailable("the passphrase is empty")
    if confirm and len(value) < MIN_NEW_PASSPHRASE:
        raise PassphraseUnavailable(
            f"a new keystore passphrase needs at least {MIN_NEW_PASSPHRASE} characters"
        )
    return value
