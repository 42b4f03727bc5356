"""The auditor's case page, rendered by a real headless Chromium (Debian's ``chromium``).

The timeline comes from ``DictAuditSource``, standing in for the node's chain-event
reader (another issue); the page, its HTML/CSS and the HTTP layer are under test.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from gateway.services.timeline_html import BACKGROUND, COLOURS
from gateway.timeline import Timeline, TimelineEvent
from gateway.typing import CaseId
from tests.gateway.conftest import Gateway
from tests.gateway.server import serve

CASE = "0x" + "c4" * 32
CHROMIUM = "/usr/bin/chromium"
KINDS = ["AnchorBatch", "ReferralInitiated", "ReferralAccepted", "GrantIssued"]
KINDS += ["AccessRedeemed", "GrantRevoked"]
HOSTILE = "<script>document.title='pwned'</script>"


def _timeline() -> Timeline:
    start = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    events = [
        TimelineEvent(
            kind=kind,
            block=100 + 7 * i,
            tx="0x" + f"{i:02x}" * 32,
            actor="0x" + f"{i + 1:02x}" * 20,
            time=start + timedelta(minutes=13 * i),
            detail=HOSTILE if kind == "GrantRevoked" else f"{kind} detail",
        )
        for i, kind in enumerate(KINDS)
    ]
    return Timeline(case=CASE, events=events)


@pytest.fixture
def audited(gateway: Gateway) -> Gateway:
    gateway.audit.timelines[CaseId(bytes.fromhex(CASE[2:]))] = _timeline()
    return gateway


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_timeline_json_and_page_headers(audited: Gateway) -> None:
    response = audited.client.get(f"/audit/cases/{CASE}/timeline")
    assert response.status_code == 200
    assert [e["kind"] for e in response.json()["events"]] == KINDS
    page = audited.client.get(f"/audit/cases/{CASE}")
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
    assert "http" not in page.text.lower().replace("http-equiv", "")  # no external asset


def test_unknown_case_is_not_found(audited: Gateway) -> None:
    for path in [f"/audit/cases/0x{'00' * 32}", f"/audit/cases/0x{'00' * 32}/timeline"]:
        response = audited.client.get(path)
        assert (response.status_code, response.json()["error"]) == (404, "not_found")
    assert audited.client.get("/audit/cases/0x1234").status_code == 422


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[list[str]]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail("Debian chromium is missing: `make test` installs it (.venv/.chromium)")
    profile = tmp_path / "profile"
    yield [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--window-size=1200,800",
    ]


@pytest.mark.integration
def test_auditor_page_renders_the_timeline_in_chromium(
    audited: Gateway, browser: list[str], tmp_path: Path
) -> None:
    shot = tmp_path / "case.png"
    with serve(audited.app) as base:
        url = f"{base}/audit/cases/{CASE}"
        subprocess.run(
            [*browser, f"--screenshot={shot}", url], check=True, capture_output=True, timeout=90
        )
        dom = subprocess.run(
            [*browser, "--dump-dom", url], check=True, capture_output=True, timeout=90, text=True
        ).stdout

    # What the browser built: every event, in order, and the hostile text inert.
    positions = [dom.index(f'data-kind="{kind}"') for kind in KINDS]
    assert positions == sorted(positions)
    assert "<title>Case 0xc4c4c4c4c4" in dom and "pwned" not in dom.split("</title>")[0]
    assert "&lt;script&gt;" in dom

    # What it painted: right size, not blank, and each event family's marker visible.
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 800)
    background = _hex(BACKGROUND)
    assert image.getpixel((0, 0)) == background
    counts = {rgb: n for n, rgb in image.getcolors(maxcolors=1200 * 800) or []}
    assert counts.get(background, 0) < 0.6 * 1200 * 800  # far from blank
    assert counts.get((255, 255, 255), 0) > 200_000  # the white timeline panel
    for _fragment, colour in COLOURS:  # each family's marker (and heading) painted
        assert counts.get(_hex(colour), 0) > 300, f"no {colour} marker painted"
    # Down the marker column, the line and dots cover it: no background showing through.
    column = image.crop((33, 140, 36, 600))
    assert all(rgb != background for _, rgb in column.getcolors(maxcolors=10_000) or [])
