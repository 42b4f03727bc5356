"""Every ``medledger`` process applies the malloc setting before running a command.

Its effect is speed and is measured by ``bench/blob.py``; here only that it is applied.
"""

from __future__ import annotations

import platform
import sys

import pytest

from common import allocator
from medledger import cli


def test_the_console_entry_point_tunes_malloc_before_any_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def tune() -> bool:
        calls.append("tune")
        return True

    monkeypatch.setattr(allocator, "tune", tune)
    monkeypatch.setattr(cli, "build", lambda group: lambda: calls.append(f"app {group}"))
    monkeypatch.setattr(sys, "argv", ["medledger", "keys", "--help"])
    cli.main()
    assert calls == ["tune", "app keys"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_accepts_the_setting() -> None:
    assert allocator.tune() is True


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_accepts_the_gateways_thresholds_and_a_second_call() -> None:
    assert allocator.tune_for_large_buffers() is True
    assert allocator.tune_for_large_buffers() is True  # the CLI may be run in-process twice
