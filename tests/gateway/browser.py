"""A real headless Chromium (Debian's ``chromium``) driven over the DevTools protocol.

Just enough of CDP for a person's path through the auditor pages: navigate, read and fill
a form field, submit, wait for the next page, take a screenshot, read the DOM. Every wait
is bounded; the browser process is ours and is ended by its id.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1200,800", "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]  # fmt: skip


def chromium_flags(profile: Path) -> list[str]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            "Debian chromium is missing: `make test` installs it (.venv/.debian-test-packages)"
        )
    return [CHROMIUM, *FLAGS, f"--user-data-dir={profile}"]


class Page:
    """One tab, spoken to over its DevTools websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv(timeout=30))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result
        raise TimeoutError(method)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 20.0) -> None:
        """Poll until ``expression`` is truthy in the page (a page load, a field shown)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.evaluate(expression):
                    return
            except RuntimeError:
                pass  # the context is being replaced by a navigation
            time.sleep(0.05)
        raise TimeoutError(expression)

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def location(self) -> str:
        return str(self.evaluate("document.location.pathname"))

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def dom(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML"))


@contextmanager
def chromium(profile: Path, *, size: tuple[int, int] = (1200, 800)) -> Iterator[Page]:
    """Start Chromium on ``about:blank`` and yield its first tab, its viewport ``size``."""
    profile.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([*chromium_flags(profile), "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=2**26) as ws:
            tab = Page(ws)
            # The window has browser chrome; pin the viewport the screenshot measures.
            tab.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1],
                     deviceScaleFactor=1, mobile=False)  # fmt: skip
            yield tab
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
