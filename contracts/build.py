"""Compile the Solidity sources with the pinned solc-js into committed artifacts.

``python -m contracts.build`` (``make contracts``) writes ``contracts/artifacts/<Name>.json``
and ``contracts/artifacts/build-info.json``. Output is byte-stable for the same sources and
compiler, which is what lets a test compare the committed artifacts with a fresh compile.
Node.js is needed here only; loading artifacts (``contracts.artifacts``) never needs it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from contracts.exceptions import CompilerError

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCES_DIR = PACKAGE_DIR / "src"
ARTIFACTS_DIR = PACKAGE_DIR / "artifacts"
REPO_ROOT = PACKAGE_DIR.parent
SOLC_DIR = REPO_ROOT / "node_modules" / "solc"
WRAPPER = PACKAGE_DIR / "solc_standard_json.js"

#: The deployable contracts; the other sources are imported types and interfaces.
CONTRACTS = ("Consortium", "Anchors", "Referrals", "Grants")

#: Fixed compiler settings: the ledger runs py-evm's Prague fork.
SETTINGS: dict[str, Any] = {
    "evmVersion": "prague",
    "optimizer": {"enabled": True, "runs": 200},
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
    },
}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_sources(sources_dir: Path = SOURCES_DIR) -> dict[str, str]:
    """Every ``.sol`` file by its name (the source unit name imports resolve against)."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(sources_dir.glob("*.sol"))}


def compiler_version() -> str:
    return _run_node(["--version"], stdin="").strip()


def compile_sources(sources: dict[str, str]) -> dict[str, Any]:
    """Run solc-js in standard-JSON mode; raise ``CompilerError`` on any error or warning."""
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": SETTINGS,
    }
    out = json.loads(_run_node([], stdin=json.dumps(request)))
    # Warnings fail the build too: the committed contracts compile clean.
    errors = [e for e in out.get("errors", []) if e.get("severity") in ("error", "warning")]
    if errors:
        raise CompilerError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    result: dict[str, Any] = out
    return result


def render_artifacts(sources: dict[str, str]) -> dict[str, str]:
    """File name -> exact file text of every artifact for these sources."""
    version = compiler_version()
    output = compile_sources(sources)
    source_hashes = {name: sha256_hex(text.encode()) for name, text in sources.items()}
    files: dict[str, str] = {}
    for name in CONTRACTS:
        unit = f"{name}.sol"
        compiled = output["contracts"][unit][name]
        doc = {
            "contractName": name,
            "sourceName": unit,
            "sourceSha256": source_hashes[unit],
            "compiler": {"name": "solc-js", "version": version},
            "abi": compiled["abi"],
            "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            "metadata": compiled["metadata"],
        }
        files[f"{name}.json"] = _dump(doc)
    info = {
        "compiler": {"name": "solc-js", "version": version},
        "settings": SETTINGS,
        "sourcesSha256": source_hashes,
        "contracts": list(CONTRACTS),
    }
    files["build-info.json"] = _dump(info)
    return files


def write_artifacts(files: dict[str, str], out_dir: Path = ARTIFACTS_DIR) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def _run_node(args: list[str], *, stdin: str) -> str:
    node = shutil.which("node")
    if node is None:
        raise CompilerError("node is not on PATH: install Node.js to compile the contracts")
    if not (SOLC_DIR / "package.json").is_file():
        raise CompilerError(f"{SOLC_DIR} is missing: run `make node_modules/.installed`")
    proc = subprocess.run(
        [node, str(WRAPPER), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        raise CompilerError(f"solc-js failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.build", description=__doc__)
    parser.add_argument("--out", type=Path, default=ARTIFACTS_DIR, help="artifact directory")
    args = parser.parse_args(argv)
    files = render_artifacts(read_sources())
    write_artifacts(files, args.out)
    print(f"wrote {len(files)} artifacts to {args.out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
