"""A record's data key (DEK): 32 random bytes that never show up in a repr or a log."""

from __future__ import annotations

import hmac
import os

from keys.exceptions import InvalidKey

DATA_KEY_SIZE = 32


class DataKey:
    """A fresh 256-bit AES key per record; ``bytes(dek)`` is the only way to the material."""

    __slots__ = ("_material",)

    def __init__(self, material: bytes) -> None:
        if not isinstance(material, bytes) or len(material) != DATA_KEY_SIZE:
            raise InvalidKey("a data key is 32 bytes")
        self._material = material

    @classmethod
    def generate(cls) -> DataKey:
        """A new key from the OS CSPRNG."""
        return cls(os.urandom(DATA_KEY_SIZE))

    def __bytes__(self) -> bytes:
        return self._material

    def __repr__(self) -> str:
        return "DataKey(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataKey):
            return NotImplemented
        return hmac.compare_digest(self._material, other._material)

    __hash__ = None  # type: ignore[assignment]  # secrets are not dict keys

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a DataKey is not picklable; wrap it instead")
