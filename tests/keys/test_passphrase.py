"""Passphrase sources: the environment first, else a hidden prompt; never guessed."""

from __future__ import annotations

import pytest

from keys.exceptions import PassphraseUnavailable
from keys.passphrase import PASSPHRASE_ENV, read_passphrase

GOOD = "a long enough passphrase"


def test_the_environment_variable_wins_without_prompting() -> None:
    def no_prompt(_: str) -> str:
        raise AssertionError("must not prompt")

    assert read_passphrase(env={PASSPHRASE_ENV: GOOD}, prompt=no_prompt) == GOOD


def test_a_terminal_prompt_is_used_and_a_new_passphrase_is_asked_twice() -> None:
    answers = iter([GOOD, GOOD])
    assert (
        read_passphrase(confirm=True, env={}, prompt=lambda _: next(answers), interactive=True)
        == GOOD
    )
    answers = iter([GOOD, GOOD + "x"])
    with pytest.raises(PassphraseUnavailable, match="differ"):
        read_passphrase(confirm=True, env={}, prompt=lambda _: next(answers), interactive=True)


def test_no_environment_and_no_terminal_is_a_clear_error() -> None:
    with pytest.raises(PassphraseUnavailable, match=PASSPHRASE_ENV):
        read_passphrase(env={}, interactive=False)


def test_empty_and_short_new_passphrases_are_refused() -> None:
    with pytest.raises(PassphraseUnavailable):
        read_passphrase(env={PASSPHRASE_ENV: ""})
    with pytest.raises(PassphraseUnavailable, match="at least"):
        read_passphrase(confirm=True, env={PASSPHRASE_ENV: "short"})
    assert read_passphrase(env={PASSPHRASE_ENV: "short"}) == "short"  # existing keystores
