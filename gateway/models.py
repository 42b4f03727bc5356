"""Request and response bodies of the gateway's JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from gateway.address import checksummed
from gateway.domain import Challenge
from gateway.typing import PhysicianAddress


def _address(value: str) -> PhysicianAddress:
    return PhysicianAddress(checksummed(value))


Address = Annotated[
    PhysicianAddress,
    Field(
        pattern=r"^0x[0-9a-fA-F]{40}$",
        examples=["0x" + "ab" * 20],
        description="20-byte hex address; mixed case must be a valid EIP-55 checksum.",
    ),
    AfterValidator(_address),
]
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]


class ChallengeRequest(BaseModel):
    address: Address = Field(description="The physician's registered key address.")


class ChallengeResponse(BaseModel):
    nonce: Hex32 = Field(description="Single-use challenge id; send it back with the signature.")
    message: str = Field(description="Text to sign with EIP-191 personal_sign.")
    expires_at: float = Field(description="Seconds since the epoch.")

    @classmethod
    def of(cls, challenge: Challenge) -> ChallengeResponse:
        return cls(nonce="0x" + challenge.nonce.hex(), message=challenge.message,
                   expires_at=challenge.expires_at)  # fmt: skip


class SessionRequest(BaseModel):
    address: Address
    nonce: Hex32
    signature: str = Field(
        pattern=r"^0x[0-9a-fA-F]{130}$", description="65-byte r||s||v signature of the message."
    )

    @property
    def nonce_bytes(self) -> bytes:
        return bytes.fromhex(self.nonce[2:])

    @property
    def signature_bytes(self) -> bytes:
        return bytes.fromhex(self.signature[2:])


class RedemptionRequestBody(BaseModel):
    token: str = Field(min_length=1, max_length=2048, description="The EIP-712 access token.")


class RedemptionRequestResponse(BaseModel):
    """What the physician signs (EIP-712 ``eth_signTypedData_v4``) to open the grant once."""

    grant: Hex32
    nonce: Hex32 = Field(description="A fresh redemption nonce; any unused 32 bytes will do.")
    deadline: int = Field(description="Unix time after which the signature is refused.")
    typed_data: dict[str, Any] = Field(
        description="The full EIP-712 document: domain, types, primaryType, message."
    )


class RedeemRequest(BaseModel):
    token: str = Field(min_length=1, max_length=2048, description="The EIP-712 access token.")
    nonce: Hex32 = Field(description="The redemption nonce the physician signed.")
    deadline: int = Field(ge=0, lt=2**64, description="The deadline the physician signed.")
    signature: str = Field(
        pattern=r"^0x[0-9a-fA-F]{130}$",
        description="The physician's 65-byte r||s||v EIP-712 signature of the Redemption.",
    )

    @property
    def nonce_bytes(self) -> bytes:
        return bytes.fromhex(self.nonce[2:])

    @property
    def signature_bytes(self) -> bytes:
        return bytes.fromhex(self.signature[2:])


class RedeemResponse(BaseModel):
    grant: Hex32
    case: Hex32
    tx_hash: Hex32 = Field(description="The final transaction that recorded the redemption.")
    block: int


class SessionResponse(BaseModel):
    token: str = Field(description="Bearer token for the Authorization header.")
    token_type: str = "bearer"
    expires_at: float = Field(description="Seconds since the epoch.")
    physician: str
    hospital: str


class InboxItem(BaseModel):
    """A case granted to this hospital (or to the signed-in physician by name)."""

    grant: str = Field(description="Grant id (32-byte hex, as in the access token).")
    case: str
    referral: int
    grantor: str = Field(description="The granting hospital's address.")
    grantor_name: str
    reason_code: int = Field(description="The referral's reason code on chain.")
    expiry: int = Field(description="Unix seconds.")
    max_uses: int
    uses_left: int
    named_physician: bool = Field(description="Granted to this physician by name.")
    revoked: bool
    delivered_at: float = Field(description="When this hospital's node accepted the delivery.")


class BreakGlassRequest(BaseModel):
    case: Hex32 = Field(description="The case to open (the owner's random case handle).")
    grantor: Annotated[str, AfterValidator(checksummed)] = Field(
        description="The lower-tier hospital that owns the case."
    )
    reason_code: int = Field(ge=1, lt=2**16, description="Why the glass is broken (non-zero).")
    duration: int = Field(ge=1, lt=2**64, description="Seconds the opening lasts (time-boxed).")
    max_uses: int = Field(default=1, ge=1, lt=2**32, description="Openings of the case allowed.")


class BreakGlassTransaction(BaseModel):
    transaction: dict[str, Any] = Field(
        description="The unsigned Grants.breakGlass transaction the physician signs and sends back."
    )


class BreakGlassOpen(BaseModel):
    signed_transaction: str = Field(
        pattern=r"^0x(?:[0-9a-fA-F]{2}){1,4096}$",
        description="The physician's signed transaction (raw bytes, hex).",
    )


class BreakGlassOpened(BaseModel):
    grant: Hex32
    nonce: Hex32
    deadline: int
    typed_data: dict[str, Any] = Field(
        description="EIP-712 Redemption (zero token nonce) to sign for POST /break-glass/redeem"
    )


class BreakGlassRedeem(BaseModel):
    grant: Hex32
    nonce: Hex32
    deadline: int = Field(ge=0, lt=2**64)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")
