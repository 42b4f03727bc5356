"""The physician's workspace walked in a real headless Chromium, on a real chain.

The world is ``cases_world``'s ledger process and hospitals: the village clinic ingests an
observation, a condition, a prescription and a report (anchored in one Merkle batch by the
node's own drain) and a DICOM study (anchored alone), refers the case to the county
hospital and grants it (``max_uses = 2``); its node delivers the grant, signed, to the
county's node, whose follower replicates the package. The county's real gateway app runs
under uvicorn on loopback. The physician's key exists only as an encrypted keystore v3
file, loaded into the page through the file input (CDP ``DOM.setFileInputFiles``, as a
person choosing the file would), so every signature in these tests is made by ethers.js in
the browser. Nothing is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from eth_account import Account
from PIL import Image

from contracts.deploy import connect, contract_at
from gateway.workspace.case_html import COLOURS
from gateway.workspace.html import CSS
from tests.gateway.browser import Page, chromium
from tests.gateway.server import serve
from tests.gateway.workspace_case import RESOURCES, granted_case
from tests.integration.cases_world import World, consortium
from tests.integration.gateway_flow import OPERATOR, GatewayUnderTest, gateway_of
from tests.node.dicom_samples import write_study

pytestmark = pytest.mark.integration

PASSPHRASE = "correct horse battery staple"
SIZE = (1200, 1000)
GREEN = (0x1A, 0x7F, 0x37)  # the "verified" badge (html.CSS)
assert "#1a7f37" in CSS


def _hex(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


@dataclass
class Workspace:
    world: World
    gw: GatewayUnderTest
    base: str
    page: Page
    keystore: Path
    case: str
    grant: int
    batch_blocks: set[int]
    study_uid: str
    instances: int
    shots: Path

    def sign_in(self, passphrase: str = PASSPHRASE, *, navigate: bool = True) -> None:
        """Through the page: choose the key file, type the passphrase, press Sign in.

        ``navigate=False``: on the sign-in page the browser is already on.
        """
        page = self.page
        if navigate:
            page.navigate(self.base + "/workspace")
        page.wait_for("document.getElementById('sign-in') !== null && typeof ethers === 'object'")
        root = page.call("DOM.getDocument")["root"]["nodeId"]
        node = page.call("DOM.querySelector", nodeId=root, selector="#keystore")["nodeId"]
        page.call("DOM.setFileInputFiles", files=[str(self.keystore)], nodeId=node)
        page.evaluate(f"document.getElementById('passphrase').value = {json.dumps(passphrase)};"
                      "document.getElementById('sign-in').click(); true")  # fmt: skip

    def shot(self, name: str) -> Image.Image:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path)
        return Image.open(path).convert("RGB")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("workspace")
    with consortium(root / "world", extra_senders=(OPERATOR.address,)) as world:
        files = write_study(root / "study")
        granted = granted_case(world, RESOURCES, root / "study")
        case, grant, village = granted.case, granted.grant, world["village"]

        w3 = connect(world.rpc_url)
        anchors = contract_at(w3, "Anchors", world.deployment.anchors)
        batch_blocks = {e["blockNumber"] for e in anchors.events.BatchAnchored().get_logs(
            from_block=0, argument_filters={"hospital": village.address})}  # fmt: skip

        gw = gateway_of(world, world["county"])
        keystore = root / "physician-keystore.json"
        # A light scrypt cost keeps the tests quick; a real keystore's default works the same.
        encrypted = Account.encrypt(gw.physician.key, PASSPHRASE, kdf="scrypt", iterations=2**12)
        keystore.write_text(json.dumps(encrypted))
        with serve(gw.client.app) as base, chromium(root / "profile", size=SIZE) as page:  # type: ignore[arg-type]
            yield Workspace(world, gw, base, page, keystore, case, grant, batch_blocks,
                            "1.2.826.0.1.3680043.8.498.1", len(files), root)  # fmt: skip


def test_a_wrong_passphrase_is_refused_in_the_page_and_opens_no_session(
    workspace: Workspace,
) -> None:
    workspace.sign_in("not the passphrase")
    workspace.page.wait_for("document.getElementById('status').textContent.includes('failed')")
    status = workspace.page.evaluate("document.getElementById('status').textContent")
    assert "Sign-in failed" in status and "password" in status.lower()
    assert workspace.page.location() == "/workspace"
    assert workspace.page.evaluate("sessionStorage.getItem('medledger.session')") is None
    # Without a session the pages send the browser to sign in.
    resp = httpx.get(workspace.base + "/workspace/inbox", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/workspace?next=%2Fworkspace%2Finbox"


def test_the_physician_signs_in_opens_the_grant_and_reads_the_case_and_study(
    workspace: Workspace,
) -> None:
    page, grant_hex = workspace.page, "0x" + workspace.grant.to_bytes(32, "big").hex()
    workspace.sign_in()
    page.wait_for("document.getElementById('inbox') !== null")
    assert page.location() == "/workspace/inbox"
    row = f"document.querySelector('tr.grant[data-grant=\"{grant_hex}\"]')"
    assert page.evaluate(f"{row}.querySelector('.uses').textContent") == "2 of 2"
    assert page.evaluate(f"{row}.querySelector('.reason').textContent") == "7"
    assert page.evaluate(f"{row}.textContent").startswith("village")
    assert page.evaluate("document.getElementById('physician').textContent") == (
        workspace.gw.physician.address)  # fmt: skip
    inbox = workspace.shot("inbox")
    counts = {rgb: n for n, rgb in inbox.getcolors(maxcolors=SIZE[0] * SIZE[1]) or []}
    assert counts.get(_hex("#1f5fbf"), 0) > 500  # the Open button is painted
    assert counts.get((255, 255, 255), 0) > 20_000  # the inbox table

    # Open: the page asks for the Redemption, signs it with the key file, redeems.
    page.evaluate(f"document.getElementById('passphrase').value = {json.dumps(PASSPHRASE)};"
                  f"{row}.querySelector('button.open').click(); true")  # fmt: skip
    page.wait_for("document.getElementById('records') !== null", timeout_s=40)
    assert page.location() == f"/workspace/cases/{workspace.case}"
    redeemed = json.loads(page.evaluate("sessionStorage.getItem('medledger.lastRedemption')"))
    w3 = connect(workspace.world.rpc_url)
    grants = contract_at(w3, "Grants", workspace.world.deployment.grants)
    logs = grants.events.AccessRedeemed().get_logs(
        from_block=0, argument_filters={"grantId": workspace.grant}
    )
    assert [(e["args"]["physician"], e["blockNumber"]) for e in logs] == [
        (workspace.gw.physician.address, redeemed["block"])]  # fmt: skip

    # The case page: each record in words, with its provenance badge.
    text = page.evaluate("document.getElementById('records').innerText")
    for expected in ("Hemoglobin", "Value: 13.7 g/dL", "Community-acquired pneumonia",
                     "Severity: moderate", "Amoxicillin 500 mg capsule",
                     "Dosage: 1 capsule three times daily for 7 days", "Chest X-ray report",
                     "Conclusion: Right lower lobe consolidation."):  # fmt: skip
        assert expected in text
    badges = page.evaluate("[...document.querySelectorAll('.badge')].map((b) => b.textContent)")
    ((block,),) = {tuple(workspace.batch_blocks)}
    assert badges == [f"anchored in block {block}, verified"] * len(RESOURCES)
    kinds = page.evaluate("[...document.querySelectorAll('li.record')].map((r) => r.dataset.kind)")
    assert sorted(kinds) == ["Condition", "Observation", "Prescription", "Report"]
    assert "MRN-00" not in page.dom()  # no patient identifier on the page (records', study's)
    case = workspace.shot("case")
    counts = {rgb: n for n, rgb in case.getcolors(maxcolors=SIZE[0] * SIZE[1]) or []}
    assert counts.get(GREEN, 0) > 4 * 300  # four green "verified" badges painted
    for colour in COLOURS.values():  # each record family's border painted
        assert counts.get(_hex(colour), 0) > 300, f"no {colour} record painted"

    # The study, in the viewer, over the gateway's DICOMweb.
    study = page.evaluate("document.querySelector('li.study').textContent")
    assert f"{workspace.instances} instances" in study and "2 series" in study
    page.evaluate("document.querySelector('a.open-study').click(); true")
    page.wait_for("window.viewerShown !== undefined", timeout_s=30)
    shown = page.evaluate("window.viewerShown")
    assert (shown["series"], shown["instances"]) == (2, workspace.instances)
    assert shown["high"] > shown["low"]
    viewer = workspace.shot("viewer")
    box = page.evaluate(
        "(() => { const r = document.getElementById('image')"
        ".getBoundingClientRect(); return [r.left, r.top, r.width]; })()"
    )
    left, top, width = (int(v) for v in box)
    canvas = viewer.crop((left, top, left + width, top + width))
    greys = {rgb for _, rgb in canvas.getcolors(maxcolors=width * width) or []}
    assert len(greys) > 50  # an image, not a black box
    assert all(isinstance(c, tuple) and c[0] == c[1] == c[2] for c in greys)  # grey levels

    # Back in the inbox, one use is spent.
    page.navigate(workspace.base + "/workspace/inbox")
    page.wait_for("document.getElementById('inbox') !== null")
    assert page.evaluate(f"{row}.querySelector('.uses').textContent") == "1 of 2"

    # A new session (signing in again) opens the live grant once more: its last use.
    page.evaluate("sessionStorage.clear(); true")
    workspace.sign_in()
    page.wait_for("document.getElementById('inbox') !== null")
    page.evaluate(f"document.getElementById('passphrase').value = {json.dumps(PASSPHRASE)};"
                  f"{row}.querySelector('button.open').click(); true")  # fmt: skip
    page.wait_for("document.getElementById('records') !== null", timeout_s=40)
    logs = grants.events.AccessRedeemed().get_logs(
        from_block=0, argument_filters={"grantId": workspace.grant}
    )
    assert len(logs) == 2
    page.navigate(workspace.base + "/workspace/inbox")
    page.wait_for("document.getElementById('inbox') !== null")
    assert page.evaluate(f"{row}.querySelector('.uses').textContent") == "0 of 2"
    assert page.evaluate(f"{row}.dataset.state") == "used up"
    assert page.evaluate(f"{row}.querySelector('button.open')") is None


def test_hostile_requests_to_the_workspace_get_clear_refusals(workspace: Workspace) -> None:
    base = workspace.base
    assert httpx.get(base + "/workspace/static/../../etc/passwd").status_code == 404
    unknown = httpx.get(base + "/workspace/static/evil.js")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    bad_case = httpx.get(base + "/workspace/cases/0x1234", cookies={"medledger_workspace": "x"})
    assert bad_case.status_code == 422
    forged = httpx.get(f"{base}/workspace/cases/{workspace.case}", follow_redirects=False,
                       cookies={"medledger_workspace": "forged"})  # fmt: skip
    assert forged.status_code == 303  # an unknown session is no session
    assert httpx.post(base + "/workspace/session").status_code == 401
    big = httpx.post(base + "/workspace/session", content=b"x" * (2 << 20),
                     headers={"Authorization": "Bearer forged"})  # fmt: skip
    assert big.status_code == 413
    script = httpx.get(base + "/workspace/static/ethers.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    page = httpx.get(base + "/workspace")
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_revoked_grant_cannot_be_opened_and_its_case_page_goes_empty_at_once(
    workspace: Workspace,
) -> None:
    """Issue 15: revocation ends access at once, for the page already open too."""
    world, page = workspace.world, workspace.page
    other = granted_case(world, RESOURCES[:1], None, max_uses=3)
    grant_hex = "0x" + other.grant.to_bytes(32, "big").hex()
    row = f"document.querySelector('tr.grant[data-grant=\"{grant_hex}\"]')"
    workspace.sign_in()
    page.wait_for("document.getElementById('inbox') !== null")
    page.evaluate(f"document.getElementById('passphrase').value = {json.dumps(PASSPHRASE)};"
                  f"{row}.querySelector('button.open').click(); true")  # fmt: skip
    page.wait_for("document.getElementById('records') !== null", timeout_s=40)
    assert "Hemoglobin" in page.evaluate("document.getElementById('records').innerText")

    revoked = world["village"].api("POST", f"/grants/{other.grant}/revoke")
    assert revoked.status_code == 200, revoked.text
    page.navigate(f"{workspace.base}/workspace/cases/{other.case}")
    page.wait_for("document.getElementById('case') !== null")
    assert page.evaluate("document.getElementById('records')") is None
    assert "Hemoglobin" not in page.dom() and page.evaluate(
        "document.getElementById('empty') !== null")  # fmt: skip
    page.navigate(workspace.base + "/workspace/inbox")
    page.wait_for("document.getElementById('inbox') !== null")
    assert page.evaluate(f"{row}.dataset.state") == "revoked"
    assert page.evaluate(f"{row}.querySelector('button.open')") is None
    # And the API the button would call refuses it too.
    session = page.evaluate("sessionStorage.getItem('medledger.session')")
    token = str(world["county"].svc.store.grant_row(other.grant)["token"])  # type: ignore[index]
    asked = httpx.post(workspace.base + "/grants/redemption-request", json={"token": token},
                       headers={"Authorization": f"Bearer {session}"})  # fmt: skip
    assert asked.status_code == 410 and asked.json()["error"] == "revoked"


def test_a_physician_whose_session_ended_signs_in_again_and_is_back_on_the_page(
    workspace: Workspace,
) -> None:
    page, case_path = workspace.page, f"/workspace/cases/{workspace.case}"
    workspace.sign_in()
    page.wait_for("document.getElementById('inbox') !== null")
    ended = page.call("Runtime.evaluate", awaitPromise=True, returnByValue=True, expression=(
        "fetch('/auth/session', {method: 'DELETE', headers: {Authorization: 'Bearer ' + "
        "sessionStorage.getItem('medledger.session')}}).then((r) => r.status)"))  # fmt: skip
    assert ended["result"]["value"] == 204
    page.navigate(workspace.base + case_path)
    page.wait_for("document.getElementById('sign-in') !== null")
    assert page.evaluate("document.location.search") == "?" + urlencode({"next": case_path})
    workspace.sign_in(navigate=False)
    page.wait_for("document.getElementById('case') !== null")
    assert page.location() == case_path
