"""Pure pieces of the audit trail, property-tested: version chains and the contracts file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit.ciphertext import check_manifest
from gateway.audit.deployment_file import BadDeployment, load_suite
from gateway.audit.event import ChainEvent
from gateway.audit.model import CiphertextStatus
from gateway.audit.summary import ZERO32
from gateway.audit.versions import version_chain
from node.blobstore.embedded import EmbeddedBlobStore
from node.formats.batch_manifest import encode_manifest
from node.proof.merkle import MerkleTree
from node.typing import MerkleHash

ADDRESS = "0x" + "11" * 20


def _anchor(record: str, previous: str) -> ChainEvent:
    return ChainEvent(
        contract="Anchors", address=ADDRESS, name="RecordAnchored",  # type: ignore[arg-type]
        args={"recordId": record, "previousVersion": previous}, block_number=1,
        block_hash="0x" + "00" * 32, tx_hash="0x" + "00" * 32, log_index=0,
        time=datetime(2026, 1, 1, tzinfo=UTC), actor=ADDRESS,  # type: ignore[arg-type]
    )  # fmt: skip


def _id(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


@given(
    chains=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=5),
    pick=st.data(),
)
def test_version_chain_is_the_records_own_chain_oldest_first(
    chains: list[int], pick: st.DataObject
) -> None:
    anchors: dict[str, ChainEvent] = {}
    chain_ids: list[list[str]] = []
    n = 1
    for length in chains:  # several independent version chains in one case
        ids = [_id(n + i) for i in range(length)]
        n += length
        for i, rid in enumerate(ids):
            anchors[rid] = _anchor(rid, ids[i - 1] if i else ZERO32)
        chain_ids.append(ids)
    which = pick.draw(st.sampled_from(chain_ids))
    record = pick.draw(st.sampled_from(which))
    assert version_chain(record, anchors) == which


def test_version_chain_survives_a_cycle_from_a_lying_node() -> None:
    a, b = _id(1), _id(2)
    anchors = {a: _anchor(a, b), b: _anchor(b, a)}
    assert set(version_chain(a, anchors)) == {a, b}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
)
NAMES = st.sampled_from(["Consortium", "anchors", "REFERRALS", "Grants", "fromBlock", "contracts"])


@given(doc=JSON | st.dictionaries(NAMES, JSON | st.just("0x" + "12" * 20), max_size=6))
def test_any_json_contracts_file_loads_or_is_a_bad_deployment(
    doc: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = Path(tmp_path_factory.mktemp("suite")) / "contracts.json"
    path.write_text(json.dumps(doc))
    try:
        suite = load_suite(path, {})
    except BadDeployment:
        return
    assert suite.deployment.consortium.startswith("0x")


def test_contracts_file_shapes_and_overrides(tmp_path: Path) -> None:
    addresses = {n: "0x" + f"{i:02x}" * 20 for i, n in enumerate(
        ("Consortium", "Anchors", "Referrals", "Grants"), 1)}  # fmt: skip
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"contracts": addresses, "fromBlock": 7}))
    suite = load_suite(nested, {"Grants": "0x" + "ab" * 20})
    assert suite.from_block == 7
    assert (
        suite.deployment.grants == "0x" + "Ab" * 20
        or suite.deployment.grants.lower() == "0x" + "ab" * 20
    )
    assert suite.deployment.anchors.lower() == addresses["Anchors"]
    with pytest.raises(BadDeployment, match="no address for Consortium"):
        load_suite(None, {})
    with pytest.raises(BadDeployment, match="cannot read"):
        load_suite(tmp_path / "absent.json", {})


def test_manifest_check_names_each_way_a_manifest_can_be_wrong(tmp_path: Path) -> None:
    store = EmbeddedBlobStore(tmp_path, durable=False)
    leaves = (MerkleHash(b"\x01" * 32), MerkleHash(b"\x02" * 32))
    root = MerkleTree(leaves).root
    good = store.put([encode_manifest(root, leaves)])
    hex_root = "0x" + root.hex()
    assert check_manifest(store, good, root=hex_root, count=2) == (CiphertextStatus.OK, 108, "")
    other = check_manifest(store, good, root="0x" + "99" * 32, count=2)
    assert other == (CiphertextStatus.MISMATCH, None, "the manifest is for another batch root")
    junk = store.put([b"\x00" * 108])
    status, _, detail = check_manifest(store, junk, root=hex_root, count=2)
    assert status is CiphertextStatus.MISMATCH and detail.startswith("not a valid batch manifest")
