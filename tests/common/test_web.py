"""A deeply nested JSON body is refused, not fatal, in a process that imported web3."""

from __future__ import annotations

import subprocess
import sys

SERVER_CODE = """
import sys
import web3  # raises the recursion limit to 100,000 through py_ecc
assert sys.getrecursionlimit() >= 100_000
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from common.web import SafeJSONRoute

class Body(BaseModel):
    x: int

app = FastAPI()
app.router.route_class = SafeJSONRoute

@app.post("/echo")
def echo(body: Body) -> dict[str, int]:
    return {"x": body.x}

client = TestClient(app)
deep = client.post("/echo", content=b"[" * 300_000, headers={"content-type": "application/json"})
ok = client.post("/echo", json={"x": 7})
bad = client.post("/echo", content=b"{nope", headers={"content-type": "application/json"})
print(deep.status_code, ok.status_code, ok.json()["x"], bad.status_code)
"""


def test_deeply_nested_body_gets_422_instead_of_killing_the_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SERVER_CODE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["422", "200", "7", "422"]
