"""The study manifest: what a DICOM study record's CID holds (encrypted), defined once.

A study is anchored as one record; its CID names this manifest, which lists every instance
(series UID, SOP instance UID, SHA-256 of its Part 10 bytes, CID of its ciphertext). Ingest
writes it (:meth:`StudyManifest.encode`); the grant packager and the gateway's study reader
parse it (:func:`parse_manifest`), within :data:`MAX_MANIFEST_BYTES`. RFC 8785 canonical
JSON, so the same study always gives the same bytes::

    {"version": 1, "study_uid": "1.2...", "study_root": "<64 hex>",
     "series": [{"series_uid": "1.2...", "instances": [{"sop_uid": "...",
                 "sha256": "<64 hex>", "cid": "bafk..."}, ...]}, ...]}

Series are sorted by UID; a series' instances keep the order ingest stored them in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from node.exceptions import InvalidStudyManifest
from node.formats.fhir_json import canonical_bytes
from node.typing import CID

VERSION = 1
#: Far above the manifest of any study the node accepts (a few hundred bytes per instance).
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ManifestInstance:
    """One instance as the manifest names it."""

    series_uid: str
    sop_uid: str
    sha256: bytes
    cid: CID


@dataclass(frozen=True, slots=True)
class StudyManifest:
    """A study's UID, its root (the record's content hash) and its instances."""

    study_uid: str
    study_root: bytes
    instances: tuple[ManifestInstance, ...]

    def encode(self) -> bytes:
        """The canonical bytes ingest encrypts and stores as the record's CID."""
        series: dict[str, list[dict[str, str]]] = {}
        for i in self.instances:
            series.setdefault(i.series_uid, []).append(
                {"sop_uid": i.sop_uid, "sha256": i.sha256.hex(), "cid": i.cid}
            )
        return canonical_bytes({
            "version": VERSION, "study_uid": self.study_uid, "study_root": self.study_root.hex(),
            "series": [{"series_uid": s, "instances": i} for s, i in sorted(series.items())],
        })  # fmt: skip

    def tree(self) -> dict[str, dict[str, bytes]]:
        """Series UID -> SOP UID -> instance hash: what :class:`StudyTree` is built from."""
        tree: dict[str, dict[str, bytes]] = {}
        for i in self.instances:
            tree.setdefault(i.series_uid, {})[i.sop_uid] = i.sha256
        return tree


def parse_manifest(raw: bytes) -> StudyManifest:
    """Parse a decrypted study manifest.

    Raises
    ------
    InvalidStudyManifest
        Larger than :data:`MAX_MANIFEST_BYTES`, not JSON, another version, or a field
        missing or of the wrong type.
    """
    if len(raw) > MAX_MANIFEST_BYTES:
        raise InvalidStudyManifest("a study manifest larger than any study we accept")
    try:
        doc: Any = json.loads(raw)
        if doc["version"] != VERSION:
            raise InvalidStudyManifest(f"unsupported study manifest version {doc['version']!r}")
        instances = tuple(
            ManifestInstance(
                str(s["series_uid"]),
                str(i["sop_uid"]),
                bytes.fromhex(i["sha256"]),
                CID(str(i["cid"])),
            )
            for s in doc["series"]
            for i in s["instances"]
        )
        return StudyManifest(str(doc["study_uid"]), bytes.fromhex(doc["study_root"]), instances)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidStudyManifest(f"malformed study manifest: {exc}") from None
