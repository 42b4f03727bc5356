"""``medledger blob …``: put, compute and fetch content-addressed blobs.

Exit codes: 0 ok, 2 bad input (missing file, malformed CID, unknown profile), 3 not found,
4 corrupted data or CID mismatch, 5 IPFS daemon unreachable, 1 any other blob store error.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from node.blobstore.abc import BlobStoreAPI
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.kubo import KuboBlobStore
from node.blobstore.layout import build
from node.blobstore.profile import DEFAULT_PROFILE, Profile, get_profile
from node.exceptions import (
    BlobNotFound,
    BlobStoreError,
    CIDMismatch,
    CorruptedBlock,
    DaemonUnreachable,
    InvalidCID,
)
from node.typing import CID

app = typer.Typer(
    help="Content-addressed blob store (CIDs identical to Kubo's).", no_args_is_help=True
)

_PIECE = 1 << 20
_EXIT = ((InvalidCID, 2), (BlobNotFound, 3), (CorruptedBlock, 4), (CIDMismatch, 4))

FileArg = Annotated[Path, typer.Argument(help="File to read, or - for standard input.")]
StoreOpt = Annotated[
    Path,
    typer.Option("--store", envvar="MEDLEDGER_BLOB_STORE", help="Directory of the embedded store."),
]
ApiOpt = Annotated[
    str | None,
    typer.Option("--api", envvar="MEDLEDGER_IPFS_API", help="Use a Kubo RPC API at this URL."),
]
ProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile", help="Import profile: unixfs-v1-2025 (1 MiB, 1024 links) or cidv1-256k."
    ),
]
_DEFAULT_STORE = Path.home() / ".medledger" / "blobs"


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _error_code(exc: BlobStoreError) -> int:
    if isinstance(exc, DaemonUnreachable):
        return 5
    return next((code for kind, code in _EXIT if isinstance(exc, kind)), 1)


def _pieces(path: Path) -> Iterator[bytes]:
    handle: BinaryIO
    with sys.stdin.buffer if str(path) == "-" else path.open("rb") as handle:
        while piece := handle.read(_PIECE):
            yield piece


def _open_source(path: Path) -> Iterator[bytes]:
    if str(path) != "-" and not path.is_file():
        raise _fail(f"{path} is not a readable file", 2)
    total = None if str(path) == "-" else path.stat().st_size
    return _with_progress(_pieces(path), total=total, label=path.name)


def _with_progress(pieces: Iterator[bytes], *, total: int | None, label: str) -> Iterator[bytes]:
    """Show a progress bar on a terminal's stderr; stay silent for scripts and pipes."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield from pieces
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        for piece in pieces:
            progress.advance(task, len(piece))
            yield piece


def _profile(name: str) -> Profile:
    try:
        return get_profile(name)
    except BlobStoreError as exc:
        raise _fail(str(exc), 2) from None


def _store(store: Path, api: str | None, profile: Profile) -> BlobStoreAPI:
    if api:
        return KuboBlobStore(api, profile=profile)
    return EmbeddedBlobStore(store, profile=profile)


@app.command()
def put(
    file: FileArg,
    store: StoreOpt = _DEFAULT_STORE,
    api: ApiOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE.name,
    no_pin: Annotated[bool, typer.Option("--no-pin", help="Do not pin the blob.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Store FILE and print its CID."""
    chosen = _profile(profile)
    source = _open_source(file)
    try:
        target = _store(store, api, chosen)
        cid = target.put(source, pin=not no_pin)
        size = target.size(cid)
    except BlobStoreError as exc:
        raise _fail(str(exc), _error_code(exc)) from None
    if as_json:
        typer.echo(
            json.dumps({"cid": cid, "size": size, "profile": chosen.name, "pinned": not no_pin})
        )
    else:
        typer.echo(cid)


@app.command()
def cid(file: FileArg, profile: ProfileOpt = DEFAULT_PROFILE.name) -> None:
    """Print FILE's CID (what Kubo would print), storing nothing."""
    chosen = _profile(profile)
    typer.echo(build(_open_source(file), profile=chosen))


@app.command()
def get(
    cid: Annotated[str, typer.Argument(help="CID of the blob.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of standard output.")
    ] = None,
    store: StoreOpt = _DEFAULT_STORE,
    api: ApiOpt = None,
) -> None:
    """Fetch a blob, verifying every block; with --out the file appears only when complete."""
    source = _store(store, api, DEFAULT_PROFILE)
    try:
        pieces = _with_progress(source.get(CID(cid)), total=None, label=cid[:16])
        if out is None:
            for piece in pieces:
                sys.stdout.buffer.write(piece)
            sys.stdout.buffer.flush()
        else:
            _write_atomic(out, pieces)
    except BlobStoreError as exc:
        raise _fail(str(exc), _error_code(exc)) from None


def _write_atomic(out: Path, pieces: Iterator[bytes]) -> None:
    """Write to a temp file beside ``out`` and rename it, so a failed fetch leaves nothing."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            for piece in pieces:
                handle.write(piece)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
