"""``medledger audit …``: an auditor's view of the chain, from events alone (read-only).

``medledger audit trace record|case|grant ID --rpc URL --contracts FILE`` prints the
story as a timeline (``--json`` for scripts), ``--fhir OUT`` writes it as a FHIR R4 Bundle,
``--blob-store DIR|URL`` also checks every anchored ciphertext.

Exit codes: 0 ok, 2 bad input (malformed id, contracts file, proof, blob store path),
3 unknown id (the chain never saw it), 4 a ciphertext or proof check failed,
5 the chain's RPC cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from gateway.audit.deployment_file import BadDeployment
from gateway.audit.disclosure_cli import disclosures as disclosures_command
from gateway.audit.disclosure_cli import log_copy
from gateway.audit.disclosures import with_reads
from gateway.audit.errors import AuditChainUnavailable, UnknownSubject
from gateway.audit.fhir_export import to_bundle
from gateway.audit.model import Subject, Trace
from gateway.audit.render import print_trace
from gateway.audit.wiring import open_trail
from gateway.disclosure.exceptions import LogUnavailable
from node.exceptions import ProofError
from node.proof.json_codec import loads_proof
from node.proof.record import RecordProof

EXIT_BAD_INPUT, EXIT_UNKNOWN, EXIT_CHECK_FAILED, EXIT_CHAIN = 2, 3, 4, 5
MAX_PROOF_BYTES = 1 << 20

app = typer.Typer(help="Audit records, cases and grants from chain events.", no_args_is_help=True)
trace_app = typer.Typer(
    help="Rebuild the story of a record, case or grant from chain events.", no_args_is_help=True
)
app.add_typer(trace_app, name="trace")
err = Console(stderr=True, soft_wrap=True)

Rpc = Annotated[
    str, typer.Option("--rpc", envvar="MEDLEDGER_RPC", help="JSON-RPC URL of any chain node.")
]
ContractsFile = Annotated[
    Path | None,
    typer.Option("--contracts", help="JSON file of the suite's addresses (Deployment.as_dict())."),
]
Consortium = Annotated[str | None, typer.Option("--consortium", help="Consortium address.")]
Anchors = Annotated[str | None, typer.Option("--anchors", help="Anchors address.")]
Referrals = Annotated[str | None, typer.Option("--referrals", help="Referrals address.")]
Grants = Annotated[str | None, typer.Option("--grants", help="Grants address.")]
BlobStore = Annotated[
    str | None,
    typer.Option(
        "--blob-store",
        help="Embedded blob store directory, or a Kubo RPC URL: check every anchored CID.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the trace as JSON.")]
Disclosures = Annotated[
    Path | None,
    typer.Option("--disclosures", help="A copy of a gateway's disclosures.sqlite: add its reads."),
]
Fhir = Annotated[
    Path | None, typer.Option("--fhir", help="Also write a FHIR R4 Bundle (collection) here.")
]


def _fail(code: int, message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def _hex32(value: str, what: str) -> bytes:
    text = value.removeprefix("0x")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        _fail(EXIT_BAD_INPUT, f"{what} must be 32 bytes of hex (0x + 64 hex digits)")
    if len(raw) != 32:
        _fail(EXIT_BAD_INPUT, f"{what} must be 32 bytes of hex (0x + 64 hex digits)")
    return raw


def _run(subject: Subject, ident: str, *, rpc: str, contracts: Path | None,
         overrides: dict[str, str | None], blob_store: str | None, as_json: bool,
         fhir: Path | None, proof: RecordProof | None = None,
         disclosures: Path | None = None) -> None:  # fmt: skip
    try:
        trail = open_trail(rpc=rpc, contracts=contracts, overrides=overrides, blob_store=blob_store)
    except BadDeployment as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    check = blob_store is not None
    try:
        if subject == "record":
            trace = trail.trace_record(
                record=_hex32(ident, "RECORD"), proof=proof, check_ciphertext=check
            )
        elif subject == "case":
            trace = trail.trace_case(case=_hex32(ident, "CASE"), check_ciphertext=check)
        else:
            trace = trail.trace_grant(grant=_grant_id(ident), check_ciphertext=check)
    except UnknownSubject as exc:
        _fail(EXIT_UNKNOWN, str(exc))
    except AuditChainUnavailable as exc:
        _fail(EXIT_CHAIN, f"{exc} (is {rpc} a chain node?)")
    if disclosures is not None:
        try:
            trace = with_reads(trace, log_copy(disclosures))
        except LogUnavailable as exc:
            _fail(EXIT_BAD_INPUT, str(exc))
    _output(trace, as_json=as_json, fhir=fhir)
    if not trace.checks_ok:
        err.print(
            "[bold red]check failed:[/] anchored ciphertext missing/corrupted or proof mismatch"
        )
        raise typer.Exit(EXIT_CHECK_FAILED)


def _overrides(consortium: str | None, anchors: str | None, referrals: str | None,
               grants: str | None) -> dict[str, str | None]:  # fmt: skip
    """Contract addresses given on the command line, by contract name."""
    return {"Consortium": consortium, "Anchors": anchors, "Referrals": referrals,
            "Grants": grants}  # fmt: skip


def _grant_id(ident: str) -> int:
    if not ident.isdigit() or not 0 < int(ident) < 2**256:
        _fail(EXIT_BAD_INPUT, "GRANT must be a positive decimal grant id")
    return int(ident)


def _output(trace: Trace, *, as_json: bool, fhir: Path | None) -> None:
    if fhir is not None:
        try:
            fhir.write_text(json.dumps(to_bundle(trace), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            _fail(EXIT_BAD_INPUT, f"cannot write {fhir}: {exc.strerror or exc}")
    if as_json:
        sys.stdout.write(trace.model_dump_json(indent=2) + "\n")
    else:
        print_trace(Console(), trace)


def _load_proof(path: Path | None) -> RecordProof | None:
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PROOF_BYTES + 1)
    except OSError as exc:
        _fail(EXIT_BAD_INPUT, f"cannot read {path}: {exc.strerror or exc}")
    if len(raw) > MAX_PROOF_BYTES:
        _fail(EXIT_BAD_INPUT, f"{path} is larger than a proof can be")
    try:
        return loads_proof(raw)
    except (ProofError, ValueError) as exc:
        _fail(EXIT_BAD_INPUT, f"{path} is not a record proof: {exc}")


@trace_app.command("record")
def trace_record(
    record: Annotated[str, typer.Argument(help="Record id, 0x + 64 hex digits.")],
    rpc: Rpc,
    contracts: ContractsFile = None,
    consortium: Consortium = None,
    anchors: Anchors = None,
    referrals: Referrals = None,
    grants: Grants = None,
    blob_store: BlobStore = None,
    proof: Annotated[
        Path | None,
        typer.Option("--proof", help="The record's inclusion proof (JSON); needed if batched."),
    ] = None,
    as_json: AsJson = False,
    fhir: Fhir = None,
    disclosures: Disclosures = None,
) -> None:
    """A record's anchors, versions and its case's referrals, grants and accesses."""
    overrides = _overrides(consortium, anchors, referrals, grants)
    _run("record", record, rpc=rpc, contracts=contracts, overrides=overrides,
         blob_store=blob_store, as_json=as_json, fhir=fhir, proof=_load_proof(proof),
         disclosures=disclosures)  # fmt: skip


@trace_app.command("case")
def trace_case(
    case: Annotated[str, typer.Argument(help="Case id, 0x + 64 hex digits.")],
    rpc: Rpc,
    contracts: ContractsFile = None,
    consortium: Consortium = None,
    anchors: Anchors = None,
    referrals: Referrals = None,
    grants: Grants = None,
    blob_store: BlobStore = None,
    as_json: AsJson = False,
    fhir: Fhir = None,
    disclosures: Disclosures = None,
) -> None:
    """Every chain event about a case: anchors, referrals, grants, accesses, break-glass."""
    overrides = _overrides(consortium, anchors, referrals, grants)
    _run("case", case, rpc=rpc, contracts=contracts, overrides=overrides,
         blob_store=blob_store, as_json=as_json, fhir=fhir, disclosures=disclosures)  # fmt: skip


@trace_app.command("grant")
def trace_grant(
    grant: Annotated[str, typer.Argument(help="Grant id (decimal).")],
    rpc: Rpc,
    contracts: ContractsFile = None,
    consortium: Consortium = None,
    anchors: Anchors = None,
    referrals: Referrals = None,
    grants: Grants = None,
    blob_store: BlobStore = None,
    as_json: AsJson = False,
    fhir: Fhir = None,
    disclosures: Disclosures = None,
) -> None:
    """A grant's issue or break-glass, every redemption, its revocation and its referral."""
    overrides = _overrides(consortium, anchors, referrals, grants)
    _run("grant", grant, rpc=rpc, contracts=contracts, overrides=overrides,
         blob_store=blob_store, as_json=as_json, fhir=fhir, disclosures=disclosures)  # fmt: skip


app.command("disclosures")(disclosures_command)
