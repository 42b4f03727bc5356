"""Physician sign-in: the shared proof-of-possession mechanism with the physician role.

The mechanism is :mod:`gateway.services.signin`; the role is checked on chain: an active
physician of this gateway's hospital.
"""

from __future__ import annotations

from gateway.abc import ChainViewAPI
from gateway.domain import PhysicianStatus
from gateway.exceptions import PhysicianNotRegistered, PhysicianSuspended
from gateway.services import signin
from gateway.services.signin import Role, RoleCheck
from gateway.settings import GatewaySettings
from gateway.typing import PhysicianAddress, SessionDigest

PHYSICIAN = Role(
    title="Physician",
    purpose="as a physician of hospital {settings.hospital}",
    promise="It sends no transaction and grants no access by itself.",
    digest_label=b"",  # the first role; its digests predate labels
)


def check_physician(
    *, settings: GatewaySettings, chain: ChainViewAPI, physician: PhysicianAddress
) -> None:
    """Refuse unless the chain says ``physician`` is active at this gateway's hospital."""
    status = chain.physician_status(hospital=settings.hospital, physician=physician)
    if status is PhysicianStatus.NOT_REGISTERED:
        raise PhysicianNotRegistered("not a registered physician of this hospital")
    if status is PhysicianStatus.SUSPENDED:
        raise PhysicianSuspended("this physician is suspended at this hospital")


def physician_check(*, settings: GatewaySettings, chain: ChainViewAPI) -> RoleCheck:
    """The role check :mod:`gateway.services.signin` runs at sign-in and on every request."""

    def check(address: PhysicianAddress) -> None:
        check_physician(settings=settings, chain=chain, physician=address)

    return check


def token_digest(*, settings: GatewaySettings, token: str) -> SessionDigest:
    """The physician session store's key for ``token``."""
    return signin.token_digest(role=PHYSICIAN, settings=settings, token=token)
