"""The committed artifacts are exactly what the pinned compiler makes of the sources."""

from __future__ import annotations

import json

import pytest
from eth_utils.crypto import keccak

from contracts import build
from contracts.artifacts import CONTRACT_NAMES, load_all, load_artifact
from contracts.errors import decode_revert, error_registry
from contracts.exceptions import ArtifactError


def test_committed_artifacts_equal_a_fresh_compile() -> None:
    """Needs node_modules (``make node_modules/.installed``): fails, never skips, without."""
    fresh = build.render_artifacts(build.read_sources())
    committed = {p.name: p.read_text() for p in build.ARTIFACTS_DIR.glob("*.json")}
    assert sorted(fresh) == sorted(committed)
    for name, text in fresh.items():
        assert committed[name] == text, f"{name} is stale: run `make contracts`"


def test_the_pinned_compiler_is_the_one_in_package_json() -> None:
    pinned = json.loads((build.REPO_ROOT / "package.json").read_text())["devDependencies"]["solc"]
    for artifact in load_all().values():
        assert artifact.compiler_version.startswith(pinned + "+commit.")


def test_artifacts_match_the_sources_and_target_prague_without_node() -> None:
    sources = build.read_sources()
    for name in CONTRACT_NAMES:
        artifact = load_artifact(name)
        assert artifact.source_sha256 == build.sha256_hex(sources[f"{name}.sol"].encode())
        meta = json.loads(artifact.metadata)
        assert meta["settings"]["evmVersion"] == "prague"
        assert meta["settings"]["optimizer"] == {"enabled": True, "runs": 200}
        assert artifact.deployed_bytecode and artifact.bytecode
        # EIP-170: deployable on a chain that enforces the code size limit.
        assert len(artifact.deployed_bytecode) <= 24576


def test_unknown_contract_name_is_a_clear_error() -> None:
    with pytest.raises(ArtifactError, match="unknown contract"):
        load_artifact("Nope")


def test_every_custom_error_selector_is_unique_and_decodes() -> None:
    signatures: dict[bytes, set[str]] = {}
    for artifact in load_all().values():
        for item in artifact.abi:
            if item["type"] == "error":
                sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                signatures.setdefault(keccak(text=sig)[:4], set()).add(sig)
    # Two different errors never share a selector (a shared one is the same declaration).
    assert all(len(sigs) == 1 for sigs in signatures.values()), signatures
    registry = error_registry()
    assert set(signatures) <= set(registry)
    for selector, sigs in signatures.items():
        assert registry[selector][0] == next(iter(sigs)).split("(")[0]
    data = keccak(text="GrantExhausted(uint256,uint32)")[:4] + (7).to_bytes(32, "big") * 2
    decoded = decode_revert(data)
    assert decoded is not None and decoded.name == "GrantExhausted" and decoded.args == (7, 7)
    assert decode_revert(b"\x00\x01") is None
    assert decode_revert(b"\xde\xad\xbe\xef") is None
