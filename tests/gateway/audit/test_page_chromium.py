"""The auditor's case page in a real headless Chromium, reached the way a person does.

Real chain (anvil, this directory's story) with a key registered as an auditor in
``Consortium``; a real uvicorn server on loopback; Debian's ``chromium`` driven over
DevTools. The browser asks for the case page, is sent to the sign-in form, submits the
auditor's address, gets the challenge text (signed here with the auditor's key, as the
auditor's wallet would), submits the signature and lands on the timeline, which is then
screenshotted and checked pixel by pixel.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from gateway.app import create_app
from gateway.audit.trail import ChainAuditTrail
from gateway.container import Services
from gateway.memory import MemorySessionStore
from gateway.services.timeline_html import BACKGROUND, COLOURS
from tests.gateway.audit.story import Story
from tests.gateway.browser import chromium
from tests.gateway.conftest import make_settings, sign
from tests.gateway.fakes import FileCaseStore, TableChainView
from tests.gateway.server import serve

#: Tall enough for the story's whole timeline (11 events), so every family is on screen.
SIZE = (1200, 1400)


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.mark.integration
def test_auditor_signs_in_in_chromium_and_sees_the_case_timeline(
    trail: ChainAuditTrail, story: Story, tmp_path: Path
) -> None:
    services = Services(chain=TableChainView(), cases=FileCaseStore(),
                        sessions=MemorySessionStore(), audit=trail, trail=trail)  # fmt: skip
    app = create_app(services=services, settings=make_settings(hospital=story.world.addr("county")))
    case_path = f"/audit/cases/0x{story.case.hex()}"
    auditor = story.world.acct["auditor"]
    shot = tmp_path / "case.png"
    with serve(app) as base, chromium(tmp_path / "profile", size=SIZE) as page:
        page.navigate(base + case_path)
        page.wait_for("document.getElementById('address') !== null")
        assert page.location() == "/audit/signin"  # no session: sent to sign in first
        page.evaluate(f"document.getElementById('address').value = '{auditor.address}';"
                      "document.forms[0].submit(); true")  # fmt: skip
        page.wait_for("document.getElementById('message') !== null")
        message = str(page.evaluate("document.getElementById('message').textContent"))
        assert f"Auditor: {auditor.address}" in message
        page.evaluate(f"document.getElementById('signature').value = '{sign(auditor, message)}';"
                      "document.forms[0].submit(); true")  # fmt: skip
        page.wait_for("document.getElementById('timeline') !== null")
        assert page.location() == case_path
        page.screenshot(shot)
        dom = page.dom()

    # What the browser built: every chain event of the case, in order.
    assert re.findall(r'data-kind="([^"]+)"', dom) == [step.kind for step in story.steps]
    assert f"<title>Case 0x{story.case.hex()[:10]}" in dom

    # What it painted: right size, not blank, and each event family's marker visible.
    image = Image.open(shot).convert("RGB")
    assert image.size == SIZE
    background = _hex(BACKGROUND)
    assert image.getpixel((0, 0)) == background
    counts = {rgb: n for n, rgb in image.getcolors(maxcolors=SIZE[0] * SIZE[1]) or []}
    assert counts.get(background, 0) < 0.6 * SIZE[0] * SIZE[1]  # far from blank
    assert counts.get((255, 255, 255), 0) > 200_000  # the white timeline panel
    for _fragment, colour in COLOURS:  # each family's marker (and heading) painted
        assert counts.get(_hex(colour), 0) > 300, f"no {colour} marker painted"
    # Down the marker column, the line and dots cover it: no background showing through.
    column = image.crop((33, 140, 36, 1100))
    assert all(rgb != background for _, rgb in column.getcolors(maxcolors=10_000) or [])
