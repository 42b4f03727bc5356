"""``medledger node …``: run a hospital node, ingest records, list them, verify proofs.

Exit codes: 0 ok, 1 a proof does not verify, 2 bad input or config, 3 wrong passphrase or
keystore problem, 4 the chain cannot be reached.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from common.tls import TLSConfigError
from keys.exceptions import KeysError
from keys.passphrase import read_passphrase
from node.anchor.outbox import Outbox
from node.anchor.records import describe, parse_record_id
from node.anchor.verify import verify_on_chain
from node.api.stow import stow_routers
from node.bootstrap import open_parts, signing_account
from node.case_runtime import open_case_runtime
from node.chain import ChainClient
from node.chain_anchors import ChainAnchorSink
from node.cli.amend import amend_record
from node.cli.breakglass import app as break_glass_app
from node.cli.cases import register as register_case_commands
from node.cli.serve import bind, serve
from node.config import ContractAddresses, LoadedConfig, NodeSettings, load_config, write_config
from node.dimse.runtime import open_standard_runtime
from node.exceptions import (
    ChainError,
    IngestError,
    NodeConfigError,
    NodeError,
    ProofError,
    ProofFormatError,
    UnknownRecord,
)
from node.formats.dicom import read_study
from node.ingest.core import IngestReceipt
from node.proof.json_codec import loads_proof
from node.proof.record import RecordProof
from node.proof.wire_codec import decode_proof
from node.service import NodeService

app = typer.Typer(
    help="Run a hospital node: ingest (HTTP, DICOM C-STORE on the node's DICOM port, STOW-RS"
    " POST /studies), anchor, verify. The DICOM listener's settings are node.json's"
    ' "dimse" (enabled, host, port, aet, peers, max_associations, max_pdu_bytes,'
    " max_instance_bytes, idle_timeout_s).",
    no_args_is_help=True,
)

ConfigOpt = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="MEDLEDGER_NODE_CONFIG", help="The node's node.json."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _config(path: Path) -> LoadedConfig:
    try:
        return load_config(path)
    except NodeConfigError as exc:
        _fail(str(exc))


def _emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data) if as_json else text)


# --- referrals and grants (node.cases): routers and follower from ``open_case_runtime`` in
# ``run``; commands from ``node.cli.cases.register`` at the end of this module.


# --- commands -------------------------------------------------------------------------------


def dimse_settings(port: int | None, aet: str, peers: list[str]) -> dict[str, Any]:
    """node.json's ``dimse`` from the init options (``AET@HOST`` peers; no port: off)."""
    listed = []
    for peer in peers:
        title, _, host = peer.rpartition("@")
        if not title or not host:
            raise ValueError(f"a DICOM peer is AET@HOST, not {peer!r}")
        listed.append({"aet": title, "host": host})
    return {"enabled": port is not None, "port": port or 11112, "aet": aet, "peers": listed}


@app.command()
def init(
    out: Annotated[Path, typer.Option("--out", help="Node directory to create node.json in.")],
    contracts: Annotated[
        Path, typer.Option(help="JSON of deployed addresses (Consortium, Anchors, ...).")
    ],
    rpc_url: Annotated[str, typer.Option(help="JSON-RPC URL of a chain node.")] = (
        "http://127.0.0.1:8545"
    ),
    keystore: Annotated[str, typer.Option(help="Keystore directory (relative to --out).")] = (
        "keystore"
    ),
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP API port.")] = 8600,
    dicom_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="DICOM (C-ECHO/C-STORE) port; unset: listener off."),
    ] = None,
    dicom_aet: Annotated[str, typer.Option(help="The node's DICOM AE title.")] = "MEDLEDGER",
    dicom_peer: Annotated[
        list[str] | None,
        typer.Option(help="A DICOM peer allowed to store, as AET@HOST (repeatable)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write node.json and a fresh API token (printed once; only its hash is stored)."""
    try:
        addresses = {k.lower(): v for k, v in json.loads(contracts.read_text()).items()}
        token = secrets.token_urlsafe(32)
        settings = NodeSettings.model_validate(
            {
                "rpc_url": rpc_url,
                "keystore_dir": keystore,
                "contracts": ContractAddresses.model_validate(addresses).model_dump(),
                "api": {"port": port, "token_sha256": hashlib.sha256(token.encode()).hexdigest()},
                "dimse": dimse_settings(dicom_port, dicom_aet, dicom_peer or []),
            }
        )
    except (OSError, ValueError) as exc:
        _fail(f"cannot write the node config: {exc}")
    out.mkdir(parents=True, exist_ok=True)
    target = out / "node.json"
    if target.exists():
        _fail(f"{target} exists; refusing to overwrite it")
    write_config(target, settings)
    _emit({"config": str(target), "api_token": token}, as_json,
          f"wrote {target}\nAPI token (shown once): {token}")  # fmt: skip


@app.command()
def run(
    config: ConfigOpt,
    host: Annotated[str | None, typer.Option(help="API listen address.")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="API port; 0 = any.")] = None,
) -> None:
    """Run the node: anchor queued records in batches and serve the HTTP API."""
    cfg = _config(config)
    logging.basicConfig(level=cfg.settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    try:
        passphrase = read_passphrase()
        account = signing_account(cfg, passphrase)
        node = NodeService(open_parts(cfg, account=account))
        cases = open_case_runtime(cfg, node=node, passphrase=passphrase)
        standard = open_standard_runtime(cfg, node=node, keyring=cases.services.keyring)
    except KeysError as exc:
        _fail(str(exc), 3)
    except NodeConfigError as exc:
        _fail(str(exc), 3 if "passphrase" in str(exc).lower() else 2)
    except ChainError as exc:
        _fail(f"cannot reach the chain: {exc}", 4)
    except TLSConfigError as exc:
        _fail(str(exc), 2)
    api = cfg.settings.api
    try:
        sock = bind(host or api.host, api.port if port is None else port)
    except OSError as exc:
        _fail(f"cannot listen: {exc.strerror}", 2)
    cases.start()
    try:
        standard.start()
    except OSError as exc:
        cases.stop()
        _fail(f"cannot listen on the DICOM port: {exc.strerror}", 2)
    try:
        routers = [*cases.routers, *stow_routers(cfg, standard.ingest)]
        serve(node, api=api, sock=sock, routers=routers, log_level=cfg.settings.log_level,
              tls=cfg.tls_files(), hl7=cfg.settings.hl7,
              keyring=cases.services.keyring)  # fmt: skip
    except TLSConfigError as exc:
        _fail(str(exc), 2)
    except NodeError as exc:  # the HL7 port could not be bound
        _fail(str(exc), 2)
    finally:
        standard.stop()
        cases.stop()


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="FHIR JSON file, or a DICOM study (dir/zip/.dcm).")],
    config: ConfigOpt,
    patient_id: Annotated[
        str | None, typer.Option("--patient-id", help="Local patient id (never stored as is).")
    ] = None,
    amends: Annotated[
        str | None, typer.Option("--amends", help="Record id this record is a new version of.")
    ] = None,
    case: Annotated[
        str | None, typer.Option("--case", help="Case id (64 hex) the version chain belongs to.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Encrypt, store and queue one record for anchoring (the running node anchors it).

    With ``--amends`` (and ``--case``) the record is also anchored on chain as the next
    version of the given record (``Anchors.anchorRecord``); this needs the signing key.
    """
    cfg = _config(config)
    if not path.exists():
        _fail(f"{path} does not exist")
    if (amends is None) != (case is None):
        _fail("--amends and --case go together (versions are chained per case)")
    try:
        node = NodeService(open_parts(cfg))
        receipt: IngestReceipt
        if path.is_file() and path.suffix.lower() == ".json":
            receipt = node.ingest_fhir(path.read_bytes(), patient_id=patient_id)
        else:
            receipt = node.ingest_study(read_study(path), patient_id=patient_id)
    except IngestError as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    except NodeError as exc:
        _fail(str(exc))
    out: dict[str, Any] = {
        "record_id": receipt.record_id.hex(),
        "kind": receipt.kind.text,
        "cid": receipt.cid,
        "created": receipt.created,
    }
    if amends is not None and case is not None:
        out["version"] = amend_record(cfg, node, receipt, amends=amends, case=case)
    verb = "queued" if receipt.created else "already present as"
    _emit(out, as_json, f"{verb} record {out['record_id']} ({out['kind']})")


@app.command("ingest-bulk")
def ingest_bulk(
    path: Annotated[Path, typer.Argument(help="NDJSON file: one FHIR R4 resource per line.")],
    config: ConfigOpt,
    patient_id: Annotated[
        str | None, typer.Option("--patient-id", help="Local patient id for every line.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Validate every line, then queue all records for anchoring in group commits.

    One invalid line refuses the whole file (nothing is stored). Re-running an interrupted
    import is safe: records already queued are reported as already present.
    """
    cfg = _config(config)
    try:
        data = path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    try:
        node = NodeService(open_parts(cfg))
        try:
            receipts = node.ingest_ndjson(data, patient_id=patient_id)
        finally:
            node.stop()
    except IngestError as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    except NodeError as exc:
        _fail(str(exc))
    created = sum(r.created for r in receipts)
    out = {
        "records": [{"record_id": r.record_id.hex(), "kind": r.kind.text, "cid": r.cid,
                     "created": r.created} for r in receipts],
        "created": created,
    }  # fmt: skip
    _emit(out, as_json, f"queued {created} records ({len(receipts) - created} already present)")


@app.command()
def records(config: ConfigOpt, as_json: JsonFlag = False) -> None:
    """List this node's records with their state and anchor."""
    cfg = _config(config)
    outbox = Outbox(cfg.outbox_path)
    try:
        rows = [describe(outbox, rid) for rid in outbox.record_ids()]
    finally:
        outbox.close()
    lines = [
        f"{r['record_id']}  {r['kind']:<13} {r['state']:<9} "
        + (f"block {r['anchor']['block_number']}" if r["anchor"] else "")
        for r in rows
    ]
    _emit(rows, as_json, "\n".join(lines) if lines else "no records")


def _load_proof(record: str, cfg: LoadedConfig | None) -> RecordProof:
    path = Path(record)
    if path.is_file():
        data = path.read_bytes()
        return loads_proof(data) if data.lstrip()[:1] == b"{" else decode_proof(data)
    if cfg is None:
        _fail(f"{record} is not a proof file; give --config to read a record id's proof")
    outbox = Outbox(cfg.outbox_path)
    try:
        return outbox.proof(parse_record_id(record))
    finally:
        outbox.close()


@app.command()
def verify(
    record: Annotated[str, typer.Argument(help="A proof file (JSON or binary) or a record id.")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="node.json.")] = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help="Any chain node's JSON-RPC URL.")] = None,
    anchors: Annotated[
        str | None, typer.Option("--anchors", help="Anchors contract address.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a record's proof against the chain; exit 1 if it does not verify."""
    cfg = _config(config) if config is not None else None
    rpc_url = rpc or (cfg.settings.rpc_url if cfg else None)
    address = anchors or (cfg.settings.contracts.anchors if cfg else None)
    if rpc_url is None or address is None:
        _fail("give --rpc and --anchors, or --config")
    try:
        proof = _load_proof(record, cfg)
    except (ProofFormatError, UnknownRecord) as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        _fail(f"cannot read {record}: {exc.strerror}")
    except NodeError as exc:  # pending: no proof yet
        _fail(str(exc))
    zero = "0x" + "00" * 20
    addresses = ContractAddresses(consortium=zero, anchors=address, referrals=zero, grants=zero)
    sink = ChainAnchorSink(chain=ChainClient(rpc_url=rpc_url, addresses=addresses))
    result: dict[str, Any] = {"record_id": proof.record_id.hex(), "root": ""}
    try:
        result["root"] = proof.batch_root().hex()
        found = verify_on_chain(proof, chain=sink)
    except ProofError as exc:
        result.update(verified=False, reason=str(exc))
        _emit(result, as_json, f"NOT VERIFIED: {exc}")
        raise typer.Exit(1) from None
    except ChainError as exc:
        _fail(f"cannot reach the chain: {exc}", 4)
    result.update(verified=True, tx_hash="0x" + found.tx_hash.hex(),
                  block_number=found.block_number)  # fmt: skip
    _emit(result, as_json, f"verified: anchored in block {found.block_number}")


# --- node-cases commands: `from node.cli.cases import register; register(app)` goes here ----


register_case_commands(app)
app.add_typer(break_glass_app, name="break-glass")
