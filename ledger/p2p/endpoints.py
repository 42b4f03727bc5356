"""``host:port`` strings of p2p endpoints: validated, and resolved for dialing back.

A validator announces where it listens in its hello (``ledger.p2p.handshake``). It may
listen on an unspecified address (``0.0.0.0`` in a container); the one that received the
hello then dials the address the connection came from, at the announced port.
"""

from __future__ import annotations

import ipaddress

from ledger.p2p.exceptions import P2PError

#: Listen addresses that name no host another machine could dial.
UNSPECIFIED = frozenset({"", "0.0.0.0", "::"})


class BadEndpoint(P2PError):
    """A ``host:port`` that is not one (no port, a port out of range, a bad host)."""


def format_endpoint(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_endpoint(text: str) -> tuple[str, int]:
    """Split ``host:port`` (or ``[v6]:port``); raises :class:`BadEndpoint`."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise BadEndpoint(f"{text!r} is not host:port")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise BadEndpoint(f"{text!r}: port out of range")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise BadEndpoint(f"{text!r}: not an IPv6 address in brackets") from None
    elif ":" in host:
        raise BadEndpoint(f"{text!r}: an IPv6 host goes in brackets")
    if any(c.isspace() or c in "/@" or not c.isprintable() for c in host):
        raise BadEndpoint(f"{text!r}: not a host name")
    try:
        # What the resolver does first; an empty label ("a..b") would fail every dial.
        host.encode("idna")
    except UnicodeError:
        raise BadEndpoint(f"{text!r}: not a host name") from None
    return host, port


def dial_target(announced: str, remote_host: str) -> tuple[str, int]:
    """Where to dial a peer that announced ``announced`` from ``remote_host``.

    Raises :class:`BadEndpoint` for an announcement that is not ``host:port``.
    """
    host, port = parse_endpoint(announced)
    return (remote_host if host in UNSPECIFIED else host), port
