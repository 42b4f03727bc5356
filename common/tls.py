"""TLS contexts shared by medledger's servers and clients, all anchored at the consortium CA.

Every HTTPS hop inside a consortium (node to node, gateway to node, healthchecks, the CLI
calling a node) trusts the consortium CA only, never the system's public roots: a
certificate bought from a public CA for a hospital's host name must not pass for that
hospital. Servers present the hospital's server certificate; a node asks for (but does not
require) a client certificate, so routes that need only the API token keep working for the
hospital's own systems while peer routes insist on one (``node.cli.serve``).

Contexts are built with the standard library's defaults for their purpose (TLS 1.2 at
least, host names checked by clients) plus the consortium CA; nothing here weakens them.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx


class TLSConfigError(Exception):
    """A certificate, key or CA file is missing or unusable (the message names which)."""


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """One process's TLS material (absolute paths, or relative to its working directory).

    ``certfile``/``keyfile``: the server certificate it presents; ``client_certfile`` and
    ``client_keyfile``: the client certificate it presents to peers (mutual TLS).
    """

    ca_file: Path
    certfile: Path
    keyfile: Path
    client_certfile: Path | None = None
    client_keyfile: Path | None = None


def client_context(
    ca_file: Path, *, certfile: Path | None = None, keyfile: Path | None = None
) -> ssl.SSLContext:
    """A client context trusting only ``ca_file``, presenting ``certfile`` when given.

    Raises
    ------
    TLSConfigError
        A file is missing or is not a usable certificate/key.
    """
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
        if certfile is not None:
            context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
    except (OSError, ssl.SSLError) as exc:
        raise TLSConfigError(f"cannot load TLS files ({ca_file}, {certfile}): {exc}") from None
    return context


def peer_context(files: TLSFiles) -> ssl.SSLContext:
    """The context of a process calling peers: the CA, plus its client certificate if any."""
    return client_context(
        files.ca_file, certfile=files.client_certfile, keyfile=files.client_keyfile
    )


def http_client(files: TLSFiles | None, *, timeout: float) -> httpx.Client:
    """An httpx client for calls to consortium peers (plain httpx when TLS is off)."""
    if files is None:
        return httpx.Client(timeout=timeout)
    return httpx.Client(timeout=timeout, verify=peer_context(files))


def check_cert_pair(certfile: Path, keyfile: Path) -> None:
    """Load a server certificate and its key once, for a clear error before listening.

    Raises
    ------
    TLSConfigError
        Either file is missing, or the key does not match the certificate.
    """
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(certfile), str(keyfile))
    except (OSError, ssl.SSLError) as exc:
        raise TLSConfigError(f"cannot load the server certificate {certfile}: {exc}") from None


def check_server_files(files: TLSFiles) -> None:
    """Load the server side once, so a bad file is a clear error before anything listens.

    Raises
    ------
    TLSConfigError
        The certificate, key or CA file cannot be loaded.
    """
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(files.certfile), str(files.keyfile))
        context.load_verify_locations(str(files.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise TLSConfigError(
            f"cannot load the server certificate {files.certfile} or CA {files.ca_file}: {exc}"
        ) from None
