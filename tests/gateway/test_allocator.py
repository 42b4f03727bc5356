"""The gateway process raises glibc's mmap threshold (see gateway/allocator.py for why)."""

from __future__ import annotations

import platform

import pytest

from gateway.allocator import tune_allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_allocator_accepts_the_raised_thresholds_and_a_second_call() -> None:
    assert tune_allocator() is True
    assert tune_allocator() is True  # idempotent: the CLI may be run in-process twice
