"""The ``p2p`` section of ``node.json``: where this validator listens, its peers, timeouts."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledger.config import HexAddress, address_bytes
from ledger.consensus.types import TimeoutConfig
from ledger.p2p.endpoints import BadEndpoint, format_endpoint, parse_endpoint
from ledger.p2p.transport import Endpoint
from ledger.typing import Address


class PeerSettings(BaseModel):
    """One consortium validator's p2p endpoint (its address is its node key's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: HexAddress
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)]


class TimeoutSettings(BaseModel):
    """Consensus timeouts (ms); CometBFT's defaults, shorter in test configs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    propose_ms: Annotated[int, Field(ge=10)] = 3000
    propose_delta_ms: Annotated[int, Field(ge=0)] = 500
    prevote_ms: Annotated[int, Field(ge=10)] = 1000
    prevote_delta_ms: Annotated[int, Field(ge=0)] = 500
    precommit_ms: Annotated[int, Field(ge=10)] = 1000
    precommit_delta_ms: Annotated[int, Field(ge=0)] = 500

    def config(self) -> TimeoutConfig:
        return TimeoutConfig(**self.model_dump())


class P2PSettings(BaseModel):
    """Listen address and the full list of validators' endpoints (this one included)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)]
    peers: list[PeerSettings]
    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)
    #: How often a stalled height re-sends its messages and everyone its status.
    gossip_ms: Annotated[int, Field(ge=20)] = 500
    #: ``host:port`` the other validators dial to reach this one, announced in our hellos
    #: (a validator admitted later is dialed back there); default ``host:port``. Needed
    #: when ``host`` is a wildcard or a NAT sits between validators.
    advertise: str | None = None

    @field_validator("advertise")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_endpoint(value)
            except BadEndpoint as exc:
                raise ValueError(str(exc)) from None
            if not value.isascii() or len(value) > 255:
                raise ValueError("advertise is at most 255 ASCII characters")
        return value

    def announce(self) -> str:
        """What our hellos announce (see ``advertise``)."""
        return self.advertise or format_endpoint(self.host, self.port)

    def endpoints(self) -> dict[Address, Endpoint]:
        return {
            address_bytes(p.address): Endpoint(address_bytes(p.address), p.host, p.port)
            for p in self.peers
        }
