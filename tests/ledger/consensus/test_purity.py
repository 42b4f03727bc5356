"""The consensus core has no clock, no randomness and no I/O (an import scan)."""

from __future__ import annotations

import ast
from pathlib import Path

import ledger.consensus

FORBIDDEN = {
    "time",
    "datetime",
    "random",
    "secrets",
    "os",
    "socket",
    "asyncio",
    "threading",
    "subprocess",
    "select",
    "selectors",
    "uuid",
    "logging",
    "io",
    "pathlib",
    "sys",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_consensus_core_imports_nothing_that_reads_a_clock_randomness_or_io() -> None:
    package = Path(ledger.consensus.__file__).parent
    files = sorted(package.glob("*.py"))
    assert len(files) >= 8
    offenders = {f.name: imported_modules(f) & FORBIDDEN for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_consensus_core_calls_no_open_or_print() -> None:
    package = Path(ledger.consensus.__file__).parent
    for f in package.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"open", "print", "input", "exec", "eval"}, f.name
