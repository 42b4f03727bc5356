"""secp256k1 identities (hospital account, node p2p key, physicians) behind a redacted repr."""

from __future__ import annotations

import hmac

from eth_account import Account
from eth_account.messages import SignableMessage
from eth_account.signers.local import LocalAccount
from eth_keys import datatypes as eth_keys
from eth_keys.exceptions import BadSignature as _EthBadSignature
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError as _EthValidationError

from keys.exceptions import InvalidKey
from keys.typing import HospitalAddress

#: Order of the secp256k1 group; signatures with s above half of it are malleable twins.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class SigningKey:
    """A secp256k1 private key; exposes its address, public key and signing, never itself."""

    __slots__ = ("_account",)

    def __init__(self, private_key: bytes) -> None:
        if not isinstance(private_key, bytes) or len(private_key) != 32:
            raise InvalidKey("a secp256k1 private key is 32 bytes")
        try:
            self._account: LocalAccount = Account.from_key(private_key)
        except (ValueError, _EthValidationError):
            raise InvalidKey("not a valid secp256k1 private key") from None

    @classmethod
    def generate(cls) -> SigningKey:
        """A new key from the OS CSPRNG (via eth-account)."""
        return cls(bytes(Account.create().key))

    def __repr__(self) -> str:
        return f"SigningKey(address={self.address})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SigningKey):
            return NotImplemented
        return hmac.compare_digest(self.secret_bytes(), other.secret_bytes())

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a SigningKey is not picklable")

    @property
    def address(self) -> HospitalAddress:
        """The EIP-55 checksummed account address."""
        return HospitalAddress(self._account.address)

    @property
    def public_key(self) -> bytes:
        """The 64-byte uncompressed public key (x || y), as p2p peers identify a node."""
        return eth_keys.PrivateKey(self.secret_bytes()).public_key.to_bytes()

    @property
    def account(self) -> LocalAccount:
        """The eth-account signer, for web3 transaction signing."""
        return self._account

    def secret_bytes(self) -> bytes:
        """The raw private key: for the keystore that encrypts it, nobody else."""
        return bytes(self._account.key)

    def sign_message(self, signable: SignableMessage) -> bytes:
        """Sign an EIP-191/EIP-712 message; 65 bytes r || s || v with v in {27, 28}."""
        return bytes(self._account.sign_message(signable).signature)

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest (p2p messages); 65 bytes r || s || v with v in {0, 1}."""
        if len(digest) != 32:
            raise ValueError("digest must be 32 bytes")
        return eth_keys.PrivateKey(self.secret_bytes()).sign_msg_hash(digest).to_bytes()


def recover_digest_signer(digest: bytes, signature: bytes) -> HospitalAddress | None:
    """Address that signed ``digest`` (see :meth:`SigningKey.sign_digest`), or None.

    Non-canonical (high-s) signatures are refused so each message has one signature.
    """
    if len(digest) != 32 or len(signature) != 65 or signature[64] not in (0, 1):
        return None
    if int.from_bytes(signature[32:64], "big") > SECP256K1_N // 2:
        return None
    try:
        public = eth_keys.Signature(signature).recover_public_key_from_msg_hash(digest)
    except (_EthBadSignature, _EthValidationError):
        return None
    return HospitalAddress(public.to_checksum_address())


def address_of_public_key(public_key: bytes) -> HospitalAddress:
    """Address of a 64-byte uncompressed secp256k1 public key."""
    if len(public_key) != 64:
        raise InvalidKey("an uncompressed secp256k1 public key is 64 bytes")
    return HospitalAddress(to_checksum_address(keccak(public_key)[-20:]))
