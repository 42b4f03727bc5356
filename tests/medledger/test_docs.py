"""The committed reference docs are what ``python -m medledger.docs`` writes from the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medledger import docs


def test_committed_cli_reference_is_current() -> None:
    assert docs.CLI_DOC.read_text() == docs.cli_markdown(), (
        "docs/cli.md is stale: run python -m medledger.docs"
    )


def test_committed_gateway_openapi_is_current() -> None:
    assert docs.OPENAPI_DOC.read_text() == docs.gateway_openapi(), (
        "docs/openapi-gateway.json is stale: run python -m medledger.docs"
    )


def test_committed_node_openapi_is_current() -> None:
    assert docs.NODE_OPENAPI_DOC.read_text() == docs.node_openapi(), (
        "docs/openapi-node.json is stale: run python -m medledger.docs"
    )


def test_cli_reference_covers_every_command_of_the_tree() -> None:
    text = docs.cli_markdown()
    for command in ("consortium init", "consortium add-member", "keys new", "ledger run"):
        assert f"`medledger {command}`" in text
    assert "**required**" in text


def test_openapi_document_names_the_gateway_routes() -> None:
    spec = json.loads(docs.gateway_openapi())
    assert spec["info"]["title"] == "medledger gateway"
    assert any(path.startswith("/dicomweb") for path in spec["paths"])


def test_check_mode_reports_a_stale_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text("# old\n")
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    monkeypatch.setattr(docs, "outputs", lambda: {stale: "# new\n"})
    assert docs.main(["--check"]) == 1
    assert stale.read_text() == "# old\n"
    assert docs.main([]) == 0
    assert docs.main(["--check"]) == 0


def test_committed_readme_reference_index_is_current() -> None:
    assert docs.README.read_text() == docs.readme_with_reference(docs.README.read_text()), (
        "README.md's generated reference is stale: run python -m medledger.docs"
    )


def test_readme_index_lists_every_command_and_both_apis_routes() -> None:
    text = docs.readme_with_reference(docs.README.read_text())
    for command in ("demo", "consortium init", "node verify", "gateway run", "ledger run"):
        assert f"| `medledger {command}` |" in text
    assert "| `POST /audit/auth/session` |" in text  # gateway
    assert "| `POST /records/fhir` |" in text  # node


def test_only_the_marked_readme_section_is_rewritten() -> None:
    from medledger.docs_readme import BEGIN, END, MissingMarkers, with_section

    readme = f"intro\n{BEGIN}\nold index\n{END}\noutro\n"
    assert with_section(readme, f"{BEGIN}\nnew\n{END}") == f"intro\n{BEGIN}\nnew\n{END}\noutro\n"
    with pytest.raises(MissingMarkers):
        with_section("no markers here\n", f"{BEGIN}\nnew\n{END}")
    with pytest.raises(MissingMarkers):
        with_section(f"{END}\n{BEGIN}\n", f"{BEGIN}\nnew\n{END}")
