"""The OpenAPI document is complete: every operation says what it does and how it refuses."""

from __future__ import annotations

from typing import Any

from tests.gateway.conftest import Gateway

ERROR_REF = "#/components/schemas/ErrorBody"


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def test_every_operation_has_a_one_line_description_and_declared_errors(gateway: Gateway) -> None:
    spec = gateway.client.get("/openapi.json").json()
    operations = _operations(spec)
    assert len(operations) >= 20
    for method, path, op in operations:
        where = f"{method} {path}"
        description = op.get("description", "")
        assert description and "\n" not in description.strip(), where
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45" and s != "422"}
        assert errors, f"{where} declares no refusal"
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (where, status)


def test_protected_operations_declare_bearer_auth_and_401(gateway: Gateway) -> None:
    spec = gateway.client.get("/openapi.json").json()
    public = {"/auth/challenge", "/auth/session", "/audit/auth/challenge", "/audit/auth/session"}
    public |= {"/audit/signin", "/audit/signin/session"}
    public |= {"/workspace", "/workspace/static/{name}"}
    # The physician's pages read the workspace cookie and send a browser without a session
    # to sign in (303), rather than answer 401 to a person.
    pages = {"/workspace/inbox", "/workspace/cases/{case}", "/workspace/cases/{case}/viewer"}
    for method, path, op in _operations(spec):
        if path in public and method != "DELETE":
            continue
        # Auditors have their own schemes (the API's bearer token, the pages' cookie): their
        # sessions open the audit routes and nothing else.
        if path.startswith("/audit/"):
            schemes = [{"AuditorBearer": []}, {"AuditorCookie": []}]
        elif path in pages:
            assert op.get("security") == [{"WorkspaceCookie": []}], f"{method} {path}"
            assert "303" in op["responses"], f"{method} {path}"
            continue
        else:
            schemes = [{"HTTPBearer": []}]
        assert op.get("security") == schemes, f"{method} {path}"
        assert "401" in op["responses"], f"{method} {path}"
