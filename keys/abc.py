"""Interfaces of the keys package.

Callers (node, gateway) depend on these, not on the concrete classes, so a hardware-backed
keystore or a remote signer can stand in later without touching them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from keys.datakey import DataKey
    from keys.envelope import EncryptionKeyring, EncryptionPublicKey, WrappedKey
    from keys.signing import SigningKey
    from keys.tokens import AccessClaims
    from keys.typing import HospitalAddress, KeyVersion, RecordId


class KeyringAPI(ABC):
    """The versioned encryption keys of one hospital: wrap to the newest, unwrap any."""

    @property
    @abstractmethod
    def versions(self) -> tuple[KeyVersion, ...]:
        """Every key version held, ascending."""

    @property
    @abstractmethod
    def current_version(self) -> KeyVersion:
        """The version new data keys are wrapped to (the highest)."""

    @abstractmethod
    def public_key(self, version: int | None = None) -> EncryptionPublicKey:
        """The public half of ``version`` (default: current), as published on chain."""

    @abstractmethod
    def wrap(self, dek: DataKey, *, record_id: RecordId | bytes) -> WrappedKey:
        """Wrap ``dek`` to the current version, bound to ``record_id``."""

    @abstractmethod
    def unwrap(self, wrapped: WrappedKey | bytes, *, record_id: RecordId | bytes) -> DataKey:
        """Unwrap with the version named in ``wrapped``.

        Raises the opaque ``UnwrapError`` for every failure (unknown version, wrong
        record, tampered bytes, key of another hospital).
        """

    @abstractmethod
    def rewrap(self, wrapped: WrappedKey | bytes, *, record_id: RecordId | bytes) -> WrappedKey:
        """Unwrap with an old version and wrap again to the current one (after rotation)."""

    @abstractmethod
    def with_new_version(self, key: X25519PrivateKey | None = None) -> EncryptionKeyring:
        """A keyring with one more version (fresh key unless given); this one is unchanged."""


class KeystoreAPI(ABC):
    """A hospital's identities at rest: encrypted key files plus secret-free metadata."""

    @abstractmethod
    def metadata(self) -> Mapping[str, object]:
        """Public facts only (addresses, public keys, versions, creation times)."""

    @abstractmethod
    def load_signing_key(self, passphrase: str) -> SigningKey:
        """The hospital's chain account key. Raises ``WrongPassphrase``."""

    @abstractmethod
    def load_p2p_key(self, passphrase: str) -> SigningKey:
        """The node's p2p message-signing key. Raises ``WrongPassphrase``."""

    @abstractmethod
    def load_physician_key(self, label: str, passphrase: str) -> SigningKey:
        """A registered physician's key by its local label. Raises ``KeystoreNotFound``."""

    @abstractmethod
    def load_keyring(self, passphrase: str) -> EncryptionKeyring:
        """Every encryption key version. Raises ``WrongPassphrase``."""

    @abstractmethod
    def rotate_encryption_key(self, passphrase: str) -> KeyVersion:
        """Add a new encryption key version; older versions stay on disk for unwrapping."""

    @abstractmethod
    def add_physician(self, label: str, passphrase: str) -> SigningKey:
        """Create a physician key under a local label (a staff id, never a name)."""

    @abstractmethod
    def export_public(self) -> dict[str, Any]:
        """What the consortium registers on chain: addresses and public keys only."""


class TokenVerifierAPI(ABC):
    """Offline verification of access tokens for one chain, Grants contract and grantee."""

    @abstractmethod
    def verify(self, token: str, *, issuer: HospitalAddress | str) -> AccessClaims:
        """Verify against the verifier's clock; see :meth:`verify_at_time`."""

    @abstractmethod
    def verify_at_time(
        self, token: str, *, issuer: HospitalAddress | str, now: float
    ) -> AccessClaims:
        """Return the claims, or raise the ``TokenError`` subclass naming the first failure.

        Order: malformed, wrong chain, wrong contract, bad signature, wrong issuer,
        wrong grantee, expired.
        """
