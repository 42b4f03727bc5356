"""A real Orthanc (Debian's ``orthanc`` + ``orthanc-dicomweb``) started by the tests.

Orthanc is the reference PACS of the issue: the tests push studies from it to our node
(DIMSE C-STORE from its ``/modalities``, STOW-RS from its DICOMweb client), use it as the
destination of outbound pushes, and diff its DICOMweb answers against the gateway's on the
same study. Each :class:`Orthanc` runs in a directory of its own on free loopback ports, with
authentication off (loopback only) and the plugin's server and client both enabled.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.devchain import stop

ORTHANC = shutil.which("Orthanc") or "/usr/bin/Orthanc"
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
START_TIMEOUT_S = 30.0


def have_orthanc() -> bool:
    """Whether Debian's Orthanc and its DICOMweb plugin are installed (``make test`` does)."""
    return Path(ORTHANC).is_file() and DICOMWEB_PLUGIN.is_file()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Modality:
    """A DICOM peer Orthanc knows (``DicomModalities``): an AE title at host:port."""

    aet: str
    port: int
    host: str = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class DicomWebServer:
    """A DICOMweb server Orthanc's client plugin can push to (``DicomWeb.Servers``)."""

    url: str
    headers: Mapping[str, str] | None = None


@dataclass
class Orthanc:
    """A running Orthanc: its REST API, its DICOMweb root and its DICOM port."""

    directory: Path
    http_port: int
    dicom_port: int
    aet: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def upload(self, data: bytes) -> dict[str, Any]:
        """Store one DICOM file through the REST API (``POST /instances``)."""
        with self.client() as http:
            resp = http.post(
                "/instances", content=data, headers={"Content-Type": "application/dicom"}
            )
            resp.raise_for_status()
            answer: dict[str, Any] = resp.json()
            return answer

    def instances(self) -> list[str]:
        """Orthanc's ids of every stored instance."""
        with self.client() as http:
            resp = http.get("/instances")
            resp.raise_for_status()
            return [str(i) for i in resp.json()]

    def sop_instance_uids(self) -> set[str]:
        """SOP Instance UIDs of every stored instance (what arrived, by the standard's id)."""
        uids: set[str] = set()
        with self.client() as http:
            for orthanc_id in self.instances():
                tags = http.get(f"/instances/{orthanc_id}/simplified-tags").json()
                uids.add(str(tags["SOPInstanceUID"]))
        return uids

    def log(self) -> str:
        path = self.directory / "orthanc.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _config(
    directory: Path,
    *,
    http_port: int,
    dicom_port: int,
    aet: str,
    modalities: Mapping[str, Modality],
    dicomweb_servers: Mapping[str, DicomWebServer],
) -> dict[str, Any]:
    servers: dict[str, Any] = {}
    for name, server in dicomweb_servers.items():
        entry: dict[str, Any] = {"Url": server.url.rstrip("/") + "/"}
        if server.headers:
            entry["HttpHeaders"] = dict(server.headers)
        servers[name] = entry
    return {
        "Name": f"orthanc-{aet.lower()}",
        "StorageDirectory": str(directory / "db"),
        "IndexDirectory": str(directory / "db"),
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "HttpPort": http_port,
        "HttpServerEnabled": True,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomServerEnabled": True,
        "DicomAet": aet,
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomModalities": {name: [m.aet, m.host, m.port] for name, m in modalities.items()},
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "Servers": servers},
        "HttpTimeout": 60,
        "StableAge": 1,
        "ConcurrentJobs": 2,
    }


@contextmanager
def orthanc(
    directory: Path,
    *,
    aet: str = "ORTHANC",
    modalities: Mapping[str, Modality] | None = None,
    dicomweb_servers: Mapping[str, DicomWebServer] | None = None,
) -> Iterator[Orthanc]:
    """Start Orthanc in ``directory``; stop it (and wait for it) on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    config = _config(
        directory,
        http_port=http_port,
        dicom_port=dicom_port,
        aet=aet,
        modalities=modalities or {},
        dicomweb_servers=dicomweb_servers or {},
    )
    config_path = directory / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2))
    log = (directory / "orthanc.log").open("wb")
    proc = subprocess.Popen(
        [ORTHANC, str(config_path)], stdout=log, stderr=subprocess.STDOUT, cwd=directory
    )
    server = Orthanc(directory, http_port, dicom_port, aet, proc)
    try:
        _wait_ready(server)
        yield server
    finally:
        stop(proc, grace_s=15)
        log.close()


def _wait_ready(server: Orthanc) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"Orthanc exited ({server.process.returncode}):\n{server.log()}")
        try:
            resp = httpx.get(f"{server.url}/system", timeout=2.0)
            if resp.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Orthanc did not answer within {START_TIMEOUT_S} s:\n{server.log()}")
