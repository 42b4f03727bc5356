"""Key material never appears in repr(), str(), f-strings, logs or pickles."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from keys._primitives import Aead
from keys.datakey import DataKey
from keys.envelope import EncryptionKeyring
from keys.keystore import Keystore
from keys.signing import SigningKey
from keys.tokens import TokenIssuer

SECRET = bytes(range(1, 33))
PASS = "correct horse battery staple"


def _renderings(obj: object) -> list[str]:
    return [repr(obj), str(obj), f"{obj}", f"{obj!r}", f"{obj} {obj!r}", repr([obj])]


def _leaks(text: str, secret: bytes) -> bool:
    lowered = text.lower()
    return secret.hex() in lowered or repr(secret) in text or str(list(secret)) in text


def test_data_keys_render_redacted_and_refuse_pickling() -> None:
    dek = DataKey(SECRET)
    for text in _renderings(dek):
        assert not _leaks(text, SECRET), text
    assert "redacted" in repr(dek)
    with pytest.raises(TypeError):
        pickle.dumps(dek)


def test_signing_keys_render_only_their_address() -> None:
    key = SigningKey(SECRET)
    for text in _renderings(key):
        assert not _leaks(text, SECRET), text
        assert key.address in text
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_keyrings_aeads_issuers_and_keystores_render_no_material(tmp_path: Path) -> None:
    x = X25519PrivateKey.from_private_bytes(SECRET)
    store = Keystore.create(tmp_path / "ks", PASS, scrypt_n=2**10, pbkdf2_iterations=1000)
    objects: list[object] = [
        EncryptionKeyring({1: x}),
        Aead(SECRET),
        TokenIssuer(SigningKey(SECRET), chain_id=1, grants_contract="0x" + "11" * 20),
        store,
    ]
    for obj in objects:
        for text in _renderings(obj):
            assert not _leaks(text, SECRET), text
            assert PASS not in text


def test_logging_key_objects_writes_no_material(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("medledger.test")
    with caplog.at_level(logging.DEBUG, logger="medledger.test"):
        log.debug(
            "dek=%s key=%r ring=%s",
            DataKey(SECRET),
            SigningKey(SECRET),
            EncryptionKeyring({1: X25519PrivateKey.from_private_bytes(SECRET)}),
        )
        log.info(
            "issuer %s",
            TokenIssuer(SigningKey(SECRET), chain_id=1, grants_contract="0x" + "11" * 20),
        )
    assert caplog.text
    assert not _leaks(caplog.text, SECRET)
