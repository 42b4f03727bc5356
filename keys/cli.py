"""``medledger keys …``: create, list, show, rotate and export a hospital's keys.

Every command reads only metadata unless it must unlock a key; errors print one line on
stderr and exit non-zero (3 wrong passphrase, 4 not found, 5 already exists, 1 other).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from keys.exceptions import (
    KeysError,
    KeystoreExists,
    KeystoreNotFound,
    PassphraseUnavailable,
    WrongPassphrase,
)
from keys.keyfiles import DEFAULT_PBKDF2_ITERATIONS, DEFAULT_SCRYPT_N
from keys.keystore import Keystore
from keys.passphrase import read_passphrase

app = typer.Typer(
    name="keys",
    help="Identities and key material: keystores, encryption key rotation, public export.",
    no_args_is_help=True,
    add_completion=False,
)

KeystoreDir = Annotated[
    Path,
    typer.Option(
        "--keystore",
        "-k",
        envvar="MEDLEDGER_KEYSTORE",
        help="Keystore directory (env MEDLEDGER_KEYSTORE).",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]

_EXIT_CODES: tuple[tuple[type[KeysError], int], ...] = (
    (WrongPassphrase, 3),
    (PassphraseUnavailable, 3),
    (KeystoreNotFound, 4),
    (KeystoreExists, 5),
)


class Kind(StrEnum):
    hospital = "hospital"
    physician = "physician"


@contextmanager
def _clean_errors() -> Iterator[None]:
    """Turn our errors into one line on stderr and an exit code (no traceback)."""
    try:
        yield
    except KeysError as exc:
        code = next((c for kind, c in _EXIT_CODES if isinstance(exc, kind)), 1)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code) from None


def _emit(data: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        for line in lines:
            typer.echo(line)


@app.command()
def new(
    kind: Annotated[Kind, typer.Argument(help="hospital: signing, p2p and encryption keys.")],
    label: Annotated[
        str | None, typer.Argument(help="Physician label (a staff id, not a name).")
    ] = None,
    keystore: KeystoreDir = Path("keystore"),
    scrypt_n: Annotated[
        int, typer.Option(help="scrypt cost N for keystore v3 files (a power of two).")
    ] = DEFAULT_SCRYPT_N,
    pbkdf2_iterations: Annotated[
        int, typer.Option(help="PBKDF2-HMAC-SHA256 iterations for the PKCS#8 PEM files.")
    ] = DEFAULT_PBKDF2_ITERATIONS,
    as_json: JsonFlag = False,
) -> None:
    """Create a hospital keystore, or add a physician key to one."""
    with _clean_errors():
        if kind is Kind.hospital:
            if label is not None:
                raise typer.BadParameter("a hospital keystore takes no label")
            passphrase = read_passphrase(confirm=True)
            store = Keystore.create(
                keystore, passphrase, scrypt_n=scrypt_n, pbkdf2_iterations=pbkdf2_iterations
            )
            public = store.export_public()
            _emit(
                public,
                as_json,
                [
                    f"created keystore {keystore}",
                    f"signing address  {public['signing_address']}",
                    f"p2p address      {public['p2p']['address']}",
                    f"encryption v{public['encryption']['version']}    "
                    f"{public['encryption']['public_key']}",
                ],
            )
            return
        if label is None:
            raise typer.BadParameter("a physician key needs a LABEL")
        store = Keystore.open(keystore)
        key = store.add_physician(label, read_passphrase())
        _emit(
            {"label": label, "address": key.address},
            as_json,
            [f"physician {label}: {key.address}"],
        )


@app.command("list")
def list_(keystore: KeystoreDir = Path("keystore"), as_json: JsonFlag = False) -> None:
    """List the identities in a keystore (no passphrase needed)."""
    with _clean_errors():
        meta = Keystore.open(keystore).metadata()
        rows: list[dict[str, Any]] = [
            {"identity": "signing", "address": meta["signing"]["address"]},
            {"identity": "p2p", "address": meta["p2p"]["address"]},
        ]
        enc = meta["encryption"]
        for version, entry in sorted(enc["versions"].items(), key=lambda kv: int(kv[0])):
            rows.append(
                {
                    "identity": f"encryption/v{version}",
                    "public_key": entry["public_key"],
                    "current": int(version) == enc["current"],
                }
            )
        for label, entry in sorted(meta["physicians"].items()):
            rows.append({"identity": f"physicians/{label}", "address": entry["address"]})
        lines = [
            f"{r['identity']:<24} {r.get('address') or r['public_key']}"
            + ("  (current)" if r.get("current") else "")
            for r in rows
        ]
        _emit(rows, as_json, lines)


def _lookup(meta: Any, identity: str) -> dict[str, Any]:
    if identity in ("signing", "p2p"):
        return dict(meta[identity])
    if identity == "encryption":
        identity = f"encryption/v{meta['encryption']['current']}"
    kind, _, name = identity.partition("/")
    if kind == "encryption" and name.startswith("v") and name[1:] in meta[kind]["versions"]:
        entry = dict(meta[kind]["versions"][name[1:]])
        entry["version"] = int(name[1:])
        entry["current"] = entry["version"] == meta[kind]["current"]
        return entry
    if kind == "physicians" and name in meta[kind]:
        return dict(meta[kind][name])
    raise KeystoreNotFound(f"no identity {identity!r} (see `medledger keys list`)")


@app.command()
def show(
    identity: Annotated[
        str, typer.Argument(help="signing, p2p, encryption, encryption/vN or physicians/LABEL.")
    ],
    keystore: KeystoreDir = Path("keystore"),
    as_json: JsonFlag = False,
) -> None:
    """Show one identity's public facts (no passphrase needed)."""
    with _clean_errors():
        entry = _lookup(Keystore.open(keystore).metadata(), identity)
        entry["identity"] = identity
        _emit(entry, as_json, [f"{k:<11} {v}" for k, v in sorted(entry.items())])


@app.command()
def rotate(keystore: KeystoreDir = Path("keystore"), as_json: JsonFlag = False) -> None:
    """Add a new encryption key version; older versions keep unwrapping their keys."""
    with _clean_errors():
        store = Keystore.open(keystore)
        version = store.rotate_encryption_key(read_passphrase())
        public = store.export_public()["encryption"]
        _emit(
            {"version": version, "public_key": public["public_key"]},
            as_json,
            [
                f"encryption key v{version}: {public['public_key']}",
                "publish it on chain; re-wrap data keys still wrapped to older versions",
            ],
        )


@app.command("export-public")
def export_public(
    keystore: KeystoreDir = Path("keystore"),
    as_json: Annotated[
        bool, typer.Option("--json/--text", help="JSON (default) or a short text summary.")
    ] = True,
) -> None:
    """Print the public keys the consortium registers (JSON; never any secret)."""
    with _clean_errors():
        public = Keystore.open(keystore).export_public()
        lines = [
            f"signing address  {public['signing_address']}",
            f"p2p public key   {public['p2p']['public_key']}",
            f"encryption v{public['encryption']['version']}    "
            f"{public['encryption']['public_key']}",
        ]
        _emit(public, as_json, lines)
