"""The study manifest, written by ingest and parsed by readers, is one format."""

from __future__ import annotations

import json

import pytest

from node.exceptions import InvalidStudyManifest
from node.formats.study_manifest import (
    MAX_MANIFEST_BYTES,
    ManifestInstance,
    StudyManifest,
    parse_manifest,
)
from node.typing import CID

MANIFEST = StudyManifest(
    "1.2.3",
    bytes(range(32)),
    (
        ManifestInstance("1.2.3.2", "1.2.3.2.1", b"\x01" * 32, CID("bafkreib")),
        ManifestInstance("1.2.3.1", "1.2.3.1.2", b"\x02" * 32, CID("bafkreia")),
        ManifestInstance("1.2.3.1", "1.2.3.1.1", b"\x03" * 32, CID("bafkreic")),
    ),
)


def test_a_written_manifest_parses_back_with_series_sorted_and_instances_in_order() -> None:
    parsed = parse_manifest(MANIFEST.encode())
    assert parsed.study_uid == "1.2.3" and parsed.study_root == bytes(range(32))
    assert [i.sop_uid for i in parsed.instances] == ["1.2.3.1.2", "1.2.3.1.1", "1.2.3.2.1"]
    assert parsed.tree() == MANIFEST.tree()
    assert parse_manifest(parsed.encode()).encode() == MANIFEST.encode()


def test_the_encoding_is_canonical_json_of_the_version_1_layout() -> None:
    doc = json.loads(MANIFEST.encode())
    assert sorted(doc) == ["series", "study_root", "study_uid", "version"]
    assert doc["version"] == 1 and doc["study_root"] == bytes(range(32)).hex()
    assert doc["series"][0]["instances"][0] == {
        "sop_uid": "1.2.3.1.2", "sha256": "02" * 32, "cid": "bafkreia"
    }  # fmt: skip
    assert b" " not in MANIFEST.encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"version": 2, "study_uid": "1", "study_root": "", "series": []}',
        b'{"version": 1, "study_uid": "1", "series": []}',
        b'{"version": 1, "study_uid": "1", "study_root": "", "series": [{"instances": [{}]}]}',
        b'{"version": 1, "study_uid": "1", "study_root": "", "series": [{"series_uid": "2",'
        b' "instances": [{"sop_uid": "3", "sha256": "zz", "cid": "b"}]}]}',
    ],
)
def test_a_malformed_manifest_is_one_error(raw: bytes) -> None:
    with pytest.raises(InvalidStudyManifest):
        parse_manifest(raw)


def test_a_manifest_over_the_bound_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidStudyManifest, match="larger"):
        parse_manifest(b" " * (MAX_MANIFEST_BYTES + 1))
