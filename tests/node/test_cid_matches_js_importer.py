"""Our CIDs against an independent implementation: ``ipfs-unixfs-importer`` (npm, pinned in
package.json), the JavaScript UnixFS importer, run as a real Node.js process.

The same deterministic content (AES-CTR keystream, see ``pattern.py``) is generated in both
languages, so 100 MiB is never written to disk. Sizes sit on every boundary of each profile
(0, 1, chunk+-1, links x chunk, links x chunk+1, 100 MiB) and, with a tiny test profile, on the
boundaries of deeper trees (2 and 3 levels of parents), which the real profiles reach only
past gigabytes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from node.blobstore.layout import build
from node.blobstore.profile import CIDV1_256K, UNIXFS_V1_2025, Profile
from node.typing import ProfileName
from tests.node.pattern import pattern

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("unixfs_cids.mjs")
MIB = 1 << 20
TINY = Profile(ProfileName("tiny-test"), 16, 3)


def boundary_sizes(profile: Profile) -> list[int]:
    """Sizes around a chunk and around a full node of leaves (1 GiB for unixfs-v1-2025)."""
    c, n = profile.chunk_size, profile.max_links
    return [0, 1, c - 1, c, c + 1, n * c - 1, n * c, n * c + 1]


def deep_sizes(profile: Profile) -> list[int]:
    c, n = profile.chunk_size, profile.max_links
    return [n * n * c, n * n * c + 1, n * n * n * c, n * n * n * c + 1, 100 * c + 7]


def js_cids(jobs: list[dict[str, object]]) -> list[str]:
    if not (ROOT / "node_modules" / "ipfs-unixfs-importer").is_dir():
        pytest.fail("ipfs-unixfs-importer is not installed: run `make node_modules/.installed`")
    node = shutil.which("node")
    assert node is not None, "Node.js is required for the cross-check"
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: list[str] = json.loads(done.stdout)
    return result


def job(size: int, profile: Profile) -> dict[str, object]:
    return {"size": size, "chunkSize": profile.chunk_size, "maxLinks": profile.max_links}


@pytest.mark.integration
def test_cids_equal_the_js_importer_on_every_boundary_of_every_profile() -> None:
    cases = [(s, p) for p in (UNIXFS_V1_2025, CIDV1_256K) for s in boundary_sizes(p)]
    cases += [(100 * MIB, UNIXFS_V1_2025), (100 * MIB, CIDV1_256K)]
    cases += [(s, TINY) for s in boundary_sizes(TINY) + deep_sizes(TINY)]
    expected = js_cids([job(s, p) for s, p in cases])
    ours = [build(pattern(s), profile=p) for s, p in cases]
    mismatches = [(s, p.name) for (s, p), a, b in zip(cases, ours, expected, strict=True) if a != b]
    assert mismatches == []
    # the profiles really are different layouts: the same 100 MiB gets different roots
    by_case = dict(zip(cases, ours, strict=True))
    assert by_case[(100 * MIB, UNIXFS_V1_2025)] != by_case[(100 * MIB, CIDV1_256K)]


@pytest.mark.integration
def test_default_profile_equals_the_importers_named_unixfs_v1_2025_profile() -> None:
    sizes = [0, 1, MIB, MIB + 1, 5 * MIB + 3]
    expected = js_cids([{"size": s, "profile": "unixfs-v1-2025"} for s in sizes])
    assert [build(pattern(s), profile=UNIXFS_V1_2025) for s in sizes] == expected


def test_known_kubo_cids() -> None:
    assert build([b"hello world\n"], profile=UNIXFS_V1_2025) == (
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    )
    assert build([], profile=CIDV1_256K) == (
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    )
