"""The physician's case page and study viewer loaded in Chromium (issue 15's page load).

Workload: a real chain process and hospitals (``tests.integration.cases_world``); the
village grants a case of 50 FHIR records (anchored in Merkle batches) and a 60-instance CT
study (pydicom's ``CT_small.dcm`` with new UIDs) to the county, whose real gateway app runs
under uvicorn on loopback. The physician's session is opened and the grant redeemed through
the JSON API (not timed), the session handed to a headless Chromium (cookie and tab storage,
as the sign-in page does). Timed, per sample: the navigation to the case page until its
``load`` event (every record decrypted, re-hashed against its anchor and rendered by the
gateway), and the viewer page until frame 1 is drawn (QIDO-RS series and instances,
WADO-RS metadata and frame, over the gateway's DICOMweb). The reference is the same reads
through the JSON API with httpx (``GET /cases/{case}/records`` and each ``GET /records/…``):
what any client pays for the verified bytes, without rendering.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.workspace.deps import COOKIE
from tests.gateway.browser import chromium
from tests.gateway.server import serve
from tests.gateway.workspace_case import RESOURCES, granted_case
from tests.integration.cases_world import consortium
from tests.integration.gateway_flow import OPERATOR, gateway_of, redeem_signed
from tests.node.dicom_samples import STUDY_UID, derived_instance

RECORDS = 50
INSTANCES = 60
SAMPLES = 10
LOADED = ("document.readyState === 'complete' && document.getElementById('records') !== null"
          " && performance.getEntriesByType('navigation')[0].loadEventEnd > 0")  # fmt: skip


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(_pct(values, 0.5), 1), "p99_ms": round(_pct(values, 0.99), 1),
            "max_ms": round(max(values), 1)}  # fmt: skip


def _study(folder: Path) -> None:
    for i in range(INSTANCES):
        data = derived_instance(
            "CT_small.dcm", series=f"{STUDY_UID}.2", sop=f"{STUDY_UID}.2.{i + 1}"
        )
        (folder / f"{i}.dcm").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.dcm").write_bytes(data)


def run() -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        consortium(Path(tmp) / "world", extra_senders=(OPERATOR.address,)) as world,
    ):
        _study(Path(tmp) / "study")
        resources = [RESOURCES[i % len(RESOURCES)] for i in range(RECORDS)]
        granted = granted_case(world, resources, Path(tmp) / "study")
        gw = gateway_of(world, world["county"])
        headers = gw.sign_in()
        token = str(world["county"].svc.store.grant_row(granted.grant)["token"])  # type: ignore[index]
        assert redeem_signed(gw.client.post, headers, token, gw.physician).status_code == 200
        session = headers["Authorization"].removeprefix("Bearer ")
        with serve(gw.client.app) as base, chromium(Path(tmp) / "profile") as page:  # type: ignore[arg-type]
            page.call("Network.enable")
            page.call("Network.setCookie", name=COOKIE, value=session, url=base + "/workspace",
                      httpOnly=True, sameSite="Strict")  # fmt: skip
            page.navigate(base + "/workspace")
            page.wait_for("document.readyState === 'complete'")
            page.evaluate(f"sessionStorage.setItem('medledger.session', '{session}'); true")
            case_ms, viewer_ms = [], []
            for _ in range(SAMPLES):
                page.navigate(f"{base}/workspace/cases/{granted.case}")
                page.wait_for(LOADED)
                shown = page.evaluate("document.querySelectorAll('.badge.verified').length")
                assert shown == RECORDS, shown
                case_ms.append(float(page.evaluate(
                    "performance.getEntriesByType('navigation')[0].loadEventEnd")))  # fmt: skip
                study = page.evaluate("document.querySelector('li.study').textContent")
                assert f"{INSTANCES} instances" in study, study
                page.evaluate("document.querySelector('a.open-study').click(); true")
                page.wait_for("window.viewerShown !== undefined", timeout_s=60)
                viewer = page.evaluate("window.viewerShown")
                assert viewer["instances"] == INSTANCES, viewer
                viewer_ms.append(float(viewer["at"]))
            api_ms = []
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                for _ in range(SAMPLES):
                    started = time.perf_counter()
                    listed = client.get(f"/cases/{granted.case}/records").json()
                    for record in listed:
                        assert client.get(f"/records/{record['record']}").status_code == 200
                    api_ms.append((time.perf_counter() - started) * 1000)
                    assert len(listed) == RECORDS
    return {
        "records": RECORDS, "instances": INSTANCES, "samples": SAMPLES,
        "case_page_load_chromium": _summary(case_ms),
        "study_first_frame_chromium": _summary(viewer_ms),
        "reference_same_reads_json_api": _summary(api_ms),
    }  # fmt: skip
