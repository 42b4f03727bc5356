"""The DICOMweb tests' common start: a signed-in physician whose session redeemed one case.

Grant ``G1`` covers the CT series, the MR image and the RT plan; ``G2`` (granted to the
hospital but not redeemed by this session) covers ``files.other_grant``, so every test can
check that what lies outside the redeemed grant stays invisible.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from gateway.domain import PhysicianStatus
from gateway.services.auth import token_digest
from keys.typing import GrantId
from tests.gateway.conftest import Gateway
from tests.gateway.dicom_files import Files
from tests.gateway.fakes import grant_state

G1 = GrantId(b"\x01" * 32)
G2 = GrantId(b"\x02" * 32)


def seed_redeemed_case(gateway: Gateway, physician: LocalAccount, files: Files) -> str:
    """Store ``files`` under G1/G2, sign ``physician`` in; returns the session token."""
    for path in [*files.ct_series, files.mr, files.rtplan]:
        gateway.cases.add(G1, path)
    gateway.cases.add(G2, files.other_grant)
    gateway.chain.grants[G1] = grant_state(G1, gateway.settings.hospital)
    gateway.chain.grants[G2] = grant_state(G2, gateway.settings.hospital)
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    # Stands in for POST redeem (tested in test_redeem.py): the session redeemed G1 only.
    gateway.sessions.add_grant(token_digest(settings=gateway.settings, token=token), G1)
    return token
