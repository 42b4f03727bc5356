"""A web viewer's DICOMweb stack, in a real headless Chromium, against the real gateway.

Web viewers (OHIF and the others built on Cornerstone) read studies from the browser with
the JavaScript ``dicomweb-client`` and parse them with ``dcmjs``. Here a page served from
another origin (a static server on another loopback port) loads both packages' browser
builds from ``node_modules`` and, with the physician's session token as bearer, walks a
redeemed case the way a viewer opens a study: QIDO-RS studies → series → instances,
WADO-RS metadata, then frame 1 and the whole instance. Cross-origin, so the gateway's
CORS (``cors_origins``) is exercised by the browser itself, preflight included; a page
from an origin not listed is refused by the browser.

The gateway is real (uvicorn on loopback); its case store is ``FileCaseStore`` over
pydicom's test files and its chain view a table, as in ``test_dicomweb_client.py``
(they stand in for the node's verified store and the chain, not under test here).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
import pytest
from eth_account.signers.local import LocalAccount
from pydicom.encaps import generate_frames
from pydicom.uid import generate_uid

from gateway.app import create_app
from gateway.container import Services
from gateway.services.auth import token_digest
from keys.typing import GrantId
from tests.gateway.browser import Page, chromium
from tests.gateway.conftest import Gateway, make_settings
from tests.gateway.dicom_files import Files, make_files
from tests.gateway.fakes import grant_state
from tests.gateway.redeemed import seed_redeemed_case
from tests.gateway.server import serve
from tests.gateway.static_site import static_site

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "viewer"
SITE = {
    "/": HERE / "index.html",
    "/viewer.js": HERE / "viewer.js",
    "/node_modules/dicomweb-client/build/dicomweb-client.js":
        ROOT / "node_modules/dicomweb-client/build/dicomweb-client.js",
    "/node_modules/dcmjs/build/dcmjs.js": ROOT / "node_modules/dcmjs/build/dcmjs.js",
}  # fmt: skip
G3 = GrantId(b"\x03" * 32)


@dataclass
class Browser:
    page: Page
    allowed: str  # the viewer's origin, listed in cors_origins
    foreign: str  # another origin, not listed


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One Chromium and two page origins for the module (starting Chromium is the cost)."""
    profile = tmp_path_factory.mktemp("viewer-profile")
    with static_site(SITE) as allowed, static_site(SITE) as foreign, chromium(profile) as page:
        yield Browser(page, allowed, foreign)


@dataclass
class Viewer:
    browser: Browser
    gw: Gateway
    gateway: str
    token: str
    files: Files

    def open(self, origin: str) -> None:
        self.browser.page.navigate(origin + "/")
        self.browser.page.wait_for(
            "document.location.origin === " + json.dumps(origin)
            + " && typeof openStudy === 'function' && typeof dcmjs === 'object'"
            + " && typeof DICOMwebClient === 'object'"
        )  # fmt: skip

    def run(self, function: str, *args: str) -> Any:
        """Await ``function(gateway, token, *args)`` in the page; its JSON result."""
        call = f"{function}({', '.join(json.dumps(a) for a in (self.gateway, self.token, *args))})"
        result = self.browser.page.call("Runtime.evaluate", expression=call,
                                        awaitPromise=True, returnByValue=True)  # fmt: skip
        if "exceptionDetails" in result:
            raise AssertionError(f"{function} threw in the page: {result['exceptionDetails']}")
        return result["result"].get("value")


@pytest.fixture
def viewer(
    gateway: Gateway, browser: Browser, physician: LocalAccount, tmp_path: Path
) -> Iterator[Viewer]:
    """The gateway's seams behind an app whose ``cors_origins`` lists the viewer's origin."""
    files = make_files(tmp_path)
    token = seed_redeemed_case(gateway, physician, files)
    services = Services(chain=gateway.chain, cases=gateway.cases, sessions=gateway.sessions,
                        audit=gateway.audit, clock=gateway.clock)  # fmt: skip
    settings = make_settings(cors_origins=[browser.allowed])
    assert settings.session_secret == gateway.settings.session_secret  # the token stays valid
    with serve(create_app(services=services, settings=settings)) as base:
        yield Viewer(browser, gateway, base, token, files)


def test_a_viewer_page_on_another_origin_opens_a_redeemed_study_with_dicomweb_client(
    viewer: Viewer,
) -> None:
    viewer.open(viewer.browser.allowed)
    seen = viewer.run("openStudy")

    ct = [pydicom.dcmread(p) for p in viewer.files.ct_series]
    studies = (viewer.files.ct_series[0], viewer.files.mr, viewer.files.rtplan)
    granted = {str(pydicom.dcmread(p).StudyInstanceUID) for p in studies}
    assert set(seen["studies"]) == granted
    assert str(pydicom.dcmread(viewer.files.other_grant).StudyInstanceUID) not in seen["studies"]
    assert seen["study"] == str(ct[0].StudyInstanceUID)
    assert seen["series"] == [str(ct[0].SeriesInstanceUID)]
    assert seen["instances"] == [str(d.SOPInstanceUID) for d in ct]
    # Metadata (DICOM JSON, naturalized by dcmjs): every instance, pixel data by URI only.
    assert seen["metadataCount"] == 3
    assert seen["metadataStudyMatches"] is True
    assert seen["metadataPixelDataInline"] is False
    assert seen["metadataPixelDataByUri"] is True
    first = ct[0]
    assert seen["sopInstanceUID"] == str(first.SOPInstanceUID)
    assert (seen["rows"], seen["columns"]) == (first.Rows, first.Columns)
    assert (seen["samplesPerPixel"], seen["bitsAllocated"]) == (
        first.SamplesPerPixel, first.BitsAllocated)  # fmt: skip
    # Frame 1 as the browser got it: Rows x Columns x samples x bytes, and the stored bytes.
    assert seen["frameCount"] == 1
    assert seen["frameLengthMatches"] is True
    size = first.Rows * first.Columns * first.SamplesPerPixel * (first.BitsAllocated // 8)
    assert seen["frameLength"] == size == len(first.PixelData)
    assert seen["frameSha256"] == hashlib.sha256(first.PixelData).hexdigest()
    assert seen["anySyntaxSha256"] == seen["frameSha256"]  # Accept: ...; transfer-syntax=*
    # The whole instance (Part 10), parsed in the page by dcmjs.
    assert seen["instanceSopInstanceUID"] == str(first.SOPInstanceUID)
    assert seen["instanceRows"] == first.Rows


def test_a_study_outside_the_redeemed_grant_is_not_found_for_the_viewer(viewer: Viewer) -> None:
    other = str(pydicom.dcmread(viewer.files.other_grant).StudyInstanceUID)
    viewer.open(viewer.browser.allowed)
    seen = viewer.run("studyOutsideGrant", other)
    # As documented for DICOMweb (docs/openapi-gateway.json): 404 {"error": "not_found"}.
    assert seen["metadata"]["ok"] is False
    assert seen["metadata"]["status"] == 404
    assert seen["metadata"]["response"]["error"] == "not_found"
    assert seen["series"] == 0


def test_compressed_frames_reach_a_viewer_as_stored_or_decoded(
    viewer: Viewer, tmp_path: Path
) -> None:
    """JPEG 2000 frames go out as stored, as ``image/jp2`` or, to a viewer asking for
    ``application/octet-stream; transfer-syntax=*`` (OHIF's usual setting), as octet-stream
    labelled with their syntax; asked uncompressed, they are decoded (to native bytes)."""
    ds = pydicom.dcmread(viewer.files.other_grant)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    path = tmp_path / "jp2-copy.dcm"
    ds.save_as(path, enforce_file_format=True)
    viewer.gw.cases.add(G3, path)
    viewer.gw.chain.grants[G3] = grant_state(G3, viewer.gw.settings.hospital)
    digest = token_digest(settings=viewer.gw.settings, token=viewer.token)
    viewer.gw.sessions.add_grant(digest, G3)  # stands in for a second redeem
    uids = (str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID))
    viewer.open(viewer.browser.allowed)
    seen = viewer.run("compressedFrame", *uids)
    stored = next(generate_frames(ds.PixelData, number_of_frames=1))
    assert seen["count"] == 1
    assert seen["sha256"] == hashlib.sha256(stored).hexdigest()
    assert seen["anySyntaxSha256"] == seen["sha256"]  # the same stored bytes, as octet-stream
    decoded = ds.pixel_array.astype("<u2").tobytes()
    assert (seen["uncompressedLength"], seen["uncompressedSha256"]) == (
        len(decoded), hashlib.sha256(decoded).hexdigest())  # fmt: skip


def test_a_page_from_an_origin_not_in_cors_origins_is_refused_by_the_browser(
    viewer: Viewer,
) -> None:
    viewer.open(viewer.browser.allowed)
    allowed = viewer.run("fromThisOrigin")
    assert allowed["origin"] == viewer.browser.allowed
    assert allowed["search"] == {"ok": True}
    assert allowed["fetched"] == {"ok": True, "status": 200}

    viewer.open(viewer.browser.foreign)
    refused = viewer.run("fromThisOrigin")
    assert refused["origin"] == viewer.browser.foreign
    assert refused["search"]["ok"] is False
    assert refused["search"]["status"] == 0  # no status: the browser withheld the response
    assert refused["fetched"] == {"ok": False, "error": "TypeError"}  # fetch() failed
