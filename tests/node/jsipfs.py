"""Start a real js-ipfs daemon (npm ``ipfs``, pinned in package.json) for the Kubo-backend tests.

js-ipfs is deprecated but is the IPFS implementation that installs from the npm registry and
serves the same RPC API as Kubo (no Kubo binary can be installed here). It runs with its repo
in a temp dir, offline (``--offline``, no bootstrap peers, no swarm/gateway listeners, no
preload), API on 127.0.0.1 with a port chosen by the OS. On Node 20 it needs one polyfill
(``jsipfs_polyfill.cjs``: ``Promise.withResolvers``), loaded with ``--require``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import BinaryIO

import httpx

ROOT = Path(__file__).resolve().parents[2]
JSIPFS = ROOT / "node_modules" / ".bin" / "jsipfs"
POLYFILL = Path(__file__).with_name("jsipfs_polyfill.cjs")


class JsIpfsDaemon:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.env = {
            **os.environ,
            "IPFS_PATH": str(repo),
            "NODE_OPTIONS": f"--require {POLYFILL}",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        self.api_url = ""

    def _jsipfs(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [str(JSIPFS), *args], env=self.env, capture_output=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"jsipfs {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")

    def start(self) -> str:
        if shutil.which("node") is None or not JSIPFS.exists():
            raise RuntimeError("js-ipfs is not installed: run `make node_modules/.installed`")
        self._jsipfs("init", "--profile", "test", "--emptyRepo")
        config_path = self.repo / "config"
        config = json.loads(config_path.read_text())
        config["Bootstrap"] = []
        config["Addresses"].update(
            {"Swarm": [], "Gateway": "", "RPC": "", "API": "/ip4/127.0.0.1/tcp/0"}
        )
        config_path.write_text(json.dumps(config))
        self._log = (self.repo / "daemon.log").open("wb")
        self.process = subprocess.Popen(
            [str(JSIPFS), "daemon", "--offline", "--enable-preload=false"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        api_file = self.repo / "api"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"js-ipfs exited: {(self.repo / 'daemon.log').read_text()}")
            if api_file.exists() and api_file.read_text().strip():
                port = api_file.read_text().strip().split("/tcp/")[1].split("/")[0]
                self.api_url = f"http://127.0.0.1:{port}"
                try:
                    httpx.post(f"{self.api_url}/api/v0/version", timeout=5).raise_for_status()
                    return self.api_url
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("js-ipfs did not come up within 90 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def block_path(self, cid_text: str) -> Path:
        """Where js-ipfs's flatfs keeps a block: base32(multihash) upper case, next-to-last/2."""
        import base64

        from node.blobstore import cid as cidlib

        _, digest = cidlib.parse(cid_text)
        key = base64.b32encode(b"\x12\x20" + digest).decode().rstrip("=")
        return self.repo / "blocks" / key[-3:-1] / f"{key}.data"
