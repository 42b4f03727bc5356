"""Grant packages, sealing to the grantee, id encodings, and block-by-block replication."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.envelope import EncryptionKeyring
from keys.typing import RecordId
from node.blobstore.embedded import EmbeddedBlobStore
from node.cases.ids import grant_id_bytes32, grant_id_from_bytes32, parse_case_id
from node.cases.package import GrantPackage, PackageRecord, scope_root
from node.cases.replicate import replicate
from node.cases.sealed import open_package, seal_package
from node.exceptions import CorruptedBlock, GrantPackageError, InvalidCaseInput
from node.typing import CID, ContentHash, PatientPseudonym

GRANTOR = "0x" + "11" * 20
GRANTEE = "0x" + "22" * 20
CONTRACT = "0x" + "33" * 20
CID_A = CID("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4")


def _record() -> PackageRecord:
    return PackageRecord(
        record_id=RecordId(os.urandom(32)),
        cid=CID_A,
        content_hash=ContentHash(os.urandom(32)),
        wrapped_key=os.urandom(85),
        salt=os.urandom(16),
        pseudonym=PatientPseudonym(os.urandom(32)),
    )


def _package(n: int = 2, grant_id: int = 7) -> GrantPackage:
    return GrantPackage(1337, CONTRACT, grant_id, 3, os.urandom(32), GRANTOR, GRANTEE, 1,
                        tuple(_record() for _ in range(n)))  # fmt: skip


def test_package_round_trips_through_canonical_json() -> None:
    package = _package(3)
    assert GrantPackage.from_bytes(package.to_bytes()) == package
    assert package.to_bytes() == GrantPackage.from_bytes(package.to_bytes()).to_bytes()


@pytest.mark.parametrize(
    ("field", "value"),
    [("format", "other"), ("case_id", "abcd"), ("grantee", "0x12"), ("records", []),
     ("grant_id", 7), ("key_version", -1)],
)  # fmt: skip
def test_malformed_packages_are_refused_with_one_error(field: str, value: object) -> None:
    import json

    doc = json.loads(_package().to_bytes())
    doc[field] = value
    with pytest.raises(GrantPackageError):
        GrantPackage.from_bytes(json.dumps(doc).encode())


def test_garbage_and_oversized_packages_are_refused() -> None:
    with pytest.raises(GrantPackageError):
        GrantPackage.from_bytes(b"\x00\xff not json")
    with pytest.raises(GrantPackageError):
        GrantPackage.from_bytes(b" " * (4 * 1024 * 1024 + 1))


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=20, unique=True),
       st.randoms())  # fmt: skip
def test_scope_root_does_not_depend_on_record_order(ids: list[bytes], rnd: object) -> None:
    shuffled = list(ids)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert scope_root(ids) == scope_root(shuffled)
    if len(ids) > 1:
        assert scope_root(ids) != scope_root(ids[:-1])


def test_sealed_package_opens_only_for_the_grantee_and_this_grant() -> None:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    grantee = EncryptionKeyring({1: X25519PrivateKey.generate()})
    other = EncryptionKeyring({1: X25519PrivateKey.generate()})
    package = _package(grant_id=42)
    blob = seal_package(package, grantee.public_key())
    assert open_package(blob, grantee, grant_id=42) == package
    assert package.to_bytes() not in blob and package.records[0].cid.encode() not in blob
    with pytest.raises(GrantPackageError):
        open_package(blob, other, grant_id=42)
    with pytest.raises(GrantPackageError):
        open_package(blob, grantee, grant_id=43)
    tampered = bytearray(blob)
    tampered[-5] ^= 1
    with pytest.raises(GrantPackageError):
        open_package(bytes(tampered), grantee, grant_id=42)


@given(st.integers(min_value=1, max_value=2**256 - 1))
def test_grant_ids_are_uint256_big_endian_in_tokens(grant_id: int) -> None:
    encoded = grant_id_bytes32(grant_id)
    assert encoded == grant_id.to_bytes(32, "big") and grant_id_from_bytes32(encoded) == grant_id


def test_case_ids_are_32_bytes_of_hex_and_never_zero() -> None:
    assert parse_case_id("0x" + "ab" * 32) == bytes.fromhex("ab" * 32)
    for bad in ("", "0x12", "zz" * 32, "00" * 32):
        with pytest.raises(InvalidCaseInput):
            parse_case_id(bad)
    with pytest.raises(InvalidCaseInput):
        grant_id_bytes32(0)


def test_replication_verifies_every_block_and_pins_the_same_cid(tmp_path: Path) -> None:
    source = EmbeddedBlobStore(tmp_path / "a", durable=False)
    target = EmbeddedBlobStore(tmp_path / "b", durable=False)
    payload = os.urandom(3 * 1024 * 1024 + 11)  # several leaves under a dag-pb root
    cid = source.put([payload])
    assert replicate(cid, fetch=source.block, store=target) is True
    assert cid in target.pins() and b"".join(target.get(cid)) == payload
    assert replicate(cid, fetch=source.block, store=target) is False  # already here


def test_replication_refuses_a_peer_that_serves_wrong_bytes(tmp_path: Path) -> None:
    source = EmbeddedBlobStore(tmp_path / "a", durable=False)
    target = EmbeddedBlobStore(tmp_path / "b", durable=False)
    cid = source.put([os.urandom(2 * 1024 * 1024)])

    def lying(c: CID) -> bytes:
        block = source.block(c)
        return block if c == cid else block[:-1] + bytes([block[-1] ^ 1])

    with pytest.raises(CorruptedBlock):
        replicate(cid, fetch=lying, store=target)
    assert cid not in target.pins()


def test_package_record_fields_are_fixed_length() -> None:
    import json

    doc = json.loads(_package().to_bytes())
    doc["records"][0]["salt"] = "00" * 15
    with pytest.raises(GrantPackageError):
        GrantPackage.from_bytes(json.dumps(doc).encode())


def test_a_batched_records_inclusion_round_trips_and_verifies_only_for_its_record() -> None:
    from dataclasses import replace

    from node.cases.inclusion import BatchInclusion, verify_inclusion
    from node.exceptions import ProofMismatch
    from node.proof.commitment import anchor_commitment
    from node.proof.merkle import MerkleTree
    from node.proof.record import RecordProof

    records = [_record() for _ in range(5)]
    leaves = [anchor_commitment(salt=r.salt, record_id=r.record_id, pseudonym=r.pseudonym,
                                content_hash=r.content_hash) for r in records]  # fmt: skip
    tree = MerkleTree(leaves)
    carried = []
    for i, r in enumerate(records):
        proof = RecordProof(r.record_id, r.pseudonym, r.content_hash, r.salt, tree.path(i))
        carried.append(replace(r, inclusion=BatchInclusion.from_proof(proof)))
    package = GrantPackage(1337, CONTRACT, 7, 3, os.urandom(32), GRANTOR, GRANTEE, 1,
                           tuple(carried))  # fmt: skip
    parsed = GrantPackage.from_bytes(package.to_bytes())
    assert parsed == package
    for r in parsed.records:
        assert r.inclusion is not None
        fields = {"record_id": r.record_id, "pseudonym": r.pseudonym,
                  "content_hash": r.content_hash, "salt": r.salt}  # fmt: skip
        assert verify_inclusion(r.inclusion, **fields) == tree.root
        with pytest.raises(ProofMismatch):  # another content under the same proof
            verify_inclusion(r.inclusion, **{**fields, "content_hash": os.urandom(32)})
    a, b = parsed.records[0], parsed.records[1]
    assert a.inclusion is not None and b.inclusion is not None
    with pytest.raises(ProofMismatch):  # one record's proof does not prove another
        verify_inclusion(b.inclusion, record_id=a.record_id, pseudonym=a.pseudonym,
                         content_hash=a.content_hash, salt=a.salt)  # fmt: skip
    import json

    doc = json.loads(package.to_bytes())
    doc["records"][0]["inclusion"]["path"][0]["side"] = "up"
    with pytest.raises(GrantPackageError):
        GrantPackage.from_bytes(json.dumps(doc).encode())
