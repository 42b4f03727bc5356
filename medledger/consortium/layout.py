"""Names, tiers, ports and hosts of a consortium's hospitals: pure data, no I/O.

One hospital directory holds everything its processes read, with paths relative to it, so
the same files serve ``medledger demo`` on loopback and a compose project (where each
service runs in the hospital directory and reaches its peers by service name). The two
differ only in hosts, which is what :class:`Network` decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.typing import Tier
from medledger.consortium.exceptions import LayoutError

#: The four tiers of the product, lowest first, as ``--tiers`` spells them.
TIER_NAMES: dict[str, Tier] = {
    "village": Tier.VILLAGE_CLINIC,
    "township": Tier.TOWNSHIP_HEALTH_CENTRE,
    "county": Tier.COUNTY_HOSPITAL,
    "tertiary": Tier.TERTIARY_HOSPITAL,
}
DEFAULT_TIERS = ("village", "township", "county", "tertiary")
#: Display names of the hospitals ``init`` creates (one per tier; a suffix when repeated).
DISPLAY_NAMES = {
    "village": "Village Clinic",
    "township": "Township Health Centre",
    "county": "County Hospital",
    "tertiary": "Tertiary Hospital",
}
SLUGS = {
    "village": "village-clinic",
    "township": "township-health-centre",
    "county": "county-hospital",
    "tertiary": "tertiary-hospital",
}

DEFAULT_BASE_PORT = 8545
#: Ports of hospital i are ``base + PORT_STRIDE * i + offset``.
PORT_STRIDE = 10
PORT_OFFSETS = {"rpc": 0, "p2p": 1, "node_api": 2, "gateway": 3, "dicom": 4, "hl7": 7}
KUBO_API_PORT = 5001
#: Under compose, state lives in named volumes mounted here (the image creates these
#: directories owned by its user, so fresh volumes are writable by it).
COMPOSE_STATE_ROOT = "/var/lib/medledger"


class Network(StrEnum):
    """Where the processes run: all on loopback, or one compose service per process."""

    loopback = "loopback"
    compose = "compose"


@dataclass(frozen=True, slots=True)
class Ports:
    rpc: int
    p2p: int
    node_api: int
    gateway: int
    #: The node's DICOM listener (C-ECHO / C-STORE from the hospital's PACS and modalities).
    dicom: int
    #: The node's HL7 MLLP port (issue 16; 0 in plans written before it existed).
    hl7: int = 0


@dataclass(frozen=True, slots=True)
class HospitalPlan:
    """One hospital before any key exists: who it is and where its processes listen."""

    index: int
    slug: str
    name: str
    tier: str
    ports: Ports
    validator: bool
    #: Node API and gateway over HTTPS with the consortium's certificates (consortium.certs).
    tls: bool = False

    @property
    def scheme(self) -> str:
        """Of the node API and the gateway (the ledger's JSON-RPC is not TLS's business here)."""
        return "https" if self.tls else "http"

    @property
    def tier_value(self) -> Tier:
        return TIER_NAMES[self.tier]

    def listen_host(self, network: Network) -> str:
        return "127.0.0.1" if network is Network.loopback else "0.0.0.0"

    def state_dir(self, network: Network, kind: str) -> str:
        """Where ``kind`` (``chain``, ``node-data``) lives.

        In the hospital directory on loopback; in a named volume under compose, where the
        config directory is mounted read-only.
        """
        return kind if network is Network.loopback else f"{COMPOSE_STATE_ROOT}/{kind}"

    def host(self, network: Network, process: str) -> str:
        """The host name other processes use to reach this hospital's ``process``."""
        return "127.0.0.1" if network is Network.loopback else f"{self.slug}-{process}"

    def rpc_url(self, network: Network) -> str:
        return f"http://{self.host(network, 'ledger')}:{self.ports.rpc}"

    def p2p_endpoint(self, network: Network) -> str:
        return f"{self.host(network, 'ledger')}:{self.ports.p2p}"

    def node_url(self, network: Network) -> str:
        """The node API: peers deliver grants to it and fetch blocks from it (on-chain endpoint)."""
        return f"{self.scheme}://{self.host(network, 'node')}:{self.ports.node_api}"

    def gateway_url(self, network: Network) -> str:
        return f"{self.scheme}://{self.host(network, 'gateway')}:{self.ports.gateway}"

    def kubo_api(self, network: Network) -> str | None:
        """The Kubo RPC URL in a compose project; on loopback the embedded store is used."""
        if network is Network.loopback:
            return None
        return f"http://{self.slug}-ipfs:{KUBO_API_PORT}"


def parse_tiers(text: str) -> tuple[str, ...]:
    """``village,township,...`` into tier names; raises ``LayoutError`` naming a bad one."""
    tiers = tuple(t.strip().lower() for t in text.split(",") if t.strip())
    if not tiers:
        raise LayoutError("--tiers names no tier")
    unknown = [t for t in tiers if t not in TIER_NAMES]
    if unknown:
        raise LayoutError(f"unknown tier {unknown[0]!r}; choose from {', '.join(TIER_NAMES)}")
    return tiers


def plan_hospitals(
    count: int,
    *,
    tiers: tuple[str, ...] = DEFAULT_TIERS,
    base_port: int = DEFAULT_BASE_PORT,
    validators: int | None = None,
    tls: bool = False,
) -> tuple[HospitalPlan, ...]:
    """Plan ``count`` hospitals cycling through ``tiers``; the first ``validators`` validate.

    ``tls``: their node APIs and gateways serve HTTPS (``consortium init`` turns it on by
    default under compose, off on loopback).

    Raises
    ------
    LayoutError
        For a count outside 1..64, ports beyond 65535, or a validator count outside 1..count.
    """
    if not 1 <= count <= 64:
        raise LayoutError("--hospitals must be between 1 and 64")
    if not 1 <= base_port or base_port + PORT_STRIDE * count > 65535:
        raise LayoutError(f"--base-port {base_port} leaves no room for {count} hospitals")
    n_validators = count if validators is None else validators
    if not 1 <= n_validators <= count:
        raise LayoutError(f"--validators must be between 1 and {count}")
    seen: dict[str, int] = {}
    plans = []
    for i in range(count):
        tier = tiers[i % len(tiers)]
        seen[tier] = seen.get(tier, 0) + 1
        suffix = "" if seen[tier] == 1 else f"-{seen[tier]}"
        base = base_port + PORT_STRIDE * i
        ports = Ports(**{name: base + off for name, off in PORT_OFFSETS.items()})
        plans.append(
            HospitalPlan(
                index=i,
                slug=SLUGS[tier] + suffix,
                name=DISPLAY_NAMES[tier] + (f" {seen[tier]}" if suffix else ""),
                tier=tier,
                ports=ports,
                validator=i < n_validators,
                tls=tls,
            )
        )
    return tuple(plans)
