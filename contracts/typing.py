"""Python mirrors of the contracts' enums (same numeric values as Solidity's), and addresses."""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol


class Tier(IntEnum):
    """Hospital tiers, lowest first; referrals go upward."""

    NONE = 0
    VILLAGE_CLINIC = 1
    TOWNSHIP_HEALTH_CENTRE = 2
    COUNTY_HOSPITAL = 3
    TERTIARY_HOSPITAL = 4


class MemberStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REMOVED = 3


class Role(IntEnum):
    NONE = 0
    PHYSICIAN = 1
    OPERATOR = 2


class StaffStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2


class ReferralStatus(IntEnum):
    NONE = 0
    PENDING = 1
    ACCEPTED = 2
    DECLINED = 3
    COMPLETED = 4
    CANCELLED = 5


class RecordKind(IntEnum):
    """What an anchored record holds: one enum for the chain and the node.

    The value is the ``kind`` the ``Anchors`` contract stores (``KIND_RECORD`` = 0, ...);
    :attr:`text` is the node's name for it, what the outbox persists and the node API, the
    CLI and grant packages show (``fhir``, ``prescription``, ``dicom-study``).
    """

    RECORD = 0
    PRESCRIPTION = 1
    DICOM_STUDY = 2

    @property
    def text(self) -> str:
        """The node's name of this kind (``fhir`` for a FHIR record)."""
        return _KIND_TEXT[self]

    @property
    def chain_code(self) -> int:
        """The ``kind`` the ``Anchors`` contract uses (the enum's value)."""
        return int(self)

    @classmethod
    def parse(cls, text: str) -> RecordKind:
        """The kind named ``text`` (see :attr:`text`); ``ValueError`` for any other name."""
        try:
            return _KIND_BY_TEXT[text]
        except KeyError:
            raise ValueError(f"{text!r} is not a record kind") from None


_KIND_TEXT = {
    RecordKind.RECORD: "fhir",
    RecordKind.PRESCRIPTION: "prescription",
    RecordKind.DICOM_STUDY: "dicom-study",
}
_KIND_BY_TEXT = {text: kind for kind, text in _KIND_TEXT.items()}


class ProposalKind(IntEnum):
    NONE = 0
    ADMIT = 1
    CHANGE_TIER = 2
    SUSPEND = 3
    REINSTATE = 4
    REMOVE = 5
    SET_VALIDATOR = 6
    ADD_AUDITOR = 7
    REMOVE_AUDITOR = 8


class SuiteAddresses(Protocol):
    """Where the four contracts live: ``contracts.deploy.Deployment`` or a node config's."""

    @property
    def consortium(self) -> str: ...
    @property
    def anchors(self) -> str: ...
    @property
    def referrals(self) -> str: ...
    @property
    def grants(self) -> str: ...
