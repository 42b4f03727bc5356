"""The grant package: what a grantee needs to read a granted case without the grantor online.

Canonical JSON (RFC 8785), sealed to the grantee (:mod:`node.cases.sealed`) and stored in
the grantor's blob store; its CID is delivered with the access token. The data keys inside
are wrapped to the grantee's encryption key (HPKE, bound to the record id and key version);
the package as a whole is sealed too because content hashes, salts and pseudonyms would
let anyone holding the blob test guesses of small records against the chain's anchors.
The grant's on-chain ``scopeRoot`` is the Merkle root of the package's sorted record ids,
so a package cannot name records the grant does not cover. A batch-anchored record carries
its inclusion proof (:mod:`node.cases.inclusion`) so the grantee can check it against the
batch root on chain; a record anchored alone (``Anchors.anchorRecord``) needs none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.cases.ids import parse_address
from node.cases.inclusion import BatchInclusion
from node.exceptions import GrantPackageError, InvalidCaseInput
from node.formats.fhir_json import canonical_bytes
from node.proof.merkle import merkle_root
from node.typing import CID, ContentHash, PatientPseudonym

FORMAT = "medledger/grant-package/v1"
MAX_PACKAGE_BYTES = 4 * 1024 * 1024
MAX_RECORDS = 10_000


def scope_root(record_ids: list[bytes]) -> bytes:
    """The grant's scope: Merkle root of the covered record ids, sorted (order-free)."""
    if not record_ids:
        raise InvalidCaseInput("a grant covers at least one record")
    return bytes(merkle_root(sorted(set(record_ids))))


@dataclass(frozen=True, slots=True)
class PackageRecord:
    record_id: RecordId
    cid: CID
    content_hash: ContentHash
    wrapped_key: bytes
    #: The anchor commitment's salt and patient pseudonym: with them the grantee recomputes
    #: the record's commitment and checks it against the chain.
    salt: bytes
    pseudonym: PatientPseudonym
    #: ``node.anchor.entry.RecordKind`` value: a DICOM study's CID is its encrypted manifest, whose
    #: instance CIDs the grantee must replicate too.
    kind: str = "fhir"
    #: The record's place in its anchor batch; ``None`` for a record anchored alone.
    inclusion: BatchInclusion | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "record_id": self.record_id.hex(), "cid": self.cid,
            "content_hash": self.content_hash.hex(),
            "wrapped_key": self.wrapped_key.hex(), "salt": self.salt.hex(),
            "pseudonym": self.pseudonym.hex(), "kind": self.kind,
        }  # fmt: skip
        if self.inclusion is not None:
            out["inclusion"] = self.inclusion.to_json()
        return out


@dataclass(frozen=True, slots=True)
class GrantPackage:
    chain_id: int
    grants_contract: str
    grant_id: int
    referral_id: int
    case_id: bytes
    grantor: str
    grantee: str
    key_version: int
    records: tuple[PackageRecord, ...]

    @property
    def scope_root(self) -> bytes:
        return scope_root([r.record_id for r in self.records])

    def to_bytes(self) -> bytes:
        return canonical_bytes({
            "format": FORMAT, "chain_id": self.chain_id,
            "grants_contract": self.grants_contract, "grant_id": str(self.grant_id),
            "referral_id": str(self.referral_id), "case_id": self.case_id.hex(),
            "grantor": self.grantor, "grantee": self.grantee, "key_version": self.key_version,
            "records": [r.to_json() for r in self.records],
        })  # fmt: skip

    @classmethod
    def from_bytes(cls, data: bytes) -> GrantPackage:
        """Parse and validate; raises :class:`GrantPackageError` for anything malformed."""
        if len(data) > MAX_PACKAGE_BYTES:
            raise GrantPackageError(f"grant package larger than {MAX_PACKAGE_BYTES} bytes")
        try:
            doc = json.loads(data)
            if doc.get("format") != FORMAT:
                raise GrantPackageError("not a medledger grant package (v1)")
            records = doc["records"]
            if not isinstance(records, list) or not 0 < len(records) <= MAX_RECORDS:
                raise GrantPackageError(f"a package lists 1..{MAX_RECORDS} records")
            return cls(
                chain_id=_int(doc["chain_id"]),
                grants_contract=parse_address(doc["grants_contract"]),
                grant_id=int(_str(doc["grant_id"])),
                referral_id=int(_str(doc["referral_id"])),
                case_id=_hex(doc["case_id"], 32),
                grantor=parse_address(doc["grantor"]),
                grantee=parse_address(doc["grantee"]),
                key_version=_int(doc["key_version"]),
                records=tuple(_record(r) for r in records),
            )
        except GrantPackageError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, InvalidCaseInput) as exc:
            raise GrantPackageError(f"malformed grant package: {exc}") from None


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("expected a non-negative integer")
    return value


def _hex(value: Any, size: int | None = None) -> bytes:
    raw = bytes.fromhex(_str(value))
    if size is not None and len(raw) != size:
        raise ValueError(f"expected {size} bytes of hex")
    return raw


def _record(item: Any) -> PackageRecord:
    from node.blobstore.cid import normalize

    return PackageRecord(
        record_id=RecordId(_hex(item["record_id"], 32)),
        cid=normalize(_str(item["cid"])),
        content_hash=ContentHash(_hex(item["content_hash"], 32)),
        wrapped_key=_hex(item["wrapped_key"]),
        salt=_hex(item["salt"], 16),
        pseudonym=PatientPseudonym(_hex(item["pseudonym"], 32)),
        kind=RecordKind.parse(_str(item["kind"])).text,
        inclusion=None if "inclusion" not in item else BatchInclusion.from_json(item["inclusion"]),
    )
