"""Keystores at rest: standard formats, private file modes, one passphrase, no secrets in
metadata, rotation that keeps old versions."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from eth_keyfile import decode_keyfile_json
from pyasn1.codec.der import decoder
from pyasn1_modules import pem as asn1_pem
from pyasn1_modules import rfc5958, rfc8018  # rfc8018 registers the PBES2 parameter types

from keys import _files
from keys.datakey import DataKey
from keys.exceptions import KeystoreError, KeystoreExists, KeystoreNotFound, WrongPassphrase
from keys.keyfiles import DEFAULT_PBKDF2_ITERATIONS
from keys.keystore import Keystore

PASS = "correct horse battery staple"
FAST_N = 2**10  # the scrypt and PBKDF2 costs are parameters; tests use cheap ones
FAST_ITER = 1000


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Files must be private even when the process umask would make them world-readable."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def store(tmp_path: Path, permissive_umask: None) -> Keystore:
    return Keystore.create(tmp_path / "ks", PASS, scrypt_n=FAST_N, pbkdf2_iterations=FAST_ITER)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_every_file_is_0600_and_every_directory_0700_even_with_umask_0(store: Keystore) -> None:
    store.add_physician("dr-7", PASS)
    store.rotate_encryption_key(PASS)
    paths = [store.root, *store.root.rglob("*")]
    assert {p.name for p in paths} >= {"signing.json", "p2p.json", "v1.pem", "v2.pem", "dr-7.json"}
    for path in paths:
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert not [p for p in paths if p.name.endswith(".tmp")]


def test_a_key_file_is_private_before_it_gets_its_final_name(
    tmp_path: Path, permissive_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_link = os.link

    def spying_link(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append(_mode(Path(src)))
        real_link(src, dst)

    monkeypatch.setattr(_files.os, "link", spying_link)
    _files.create_private_file(tmp_path / "key", b"secret")
    assert seen == [0o600]
    assert (tmp_path / "key").read_bytes() == b"secret"


def test_key_files_are_never_overwritten(store: Keystore) -> None:
    before = (store.root / "signing.json").read_bytes()
    with pytest.raises(KeystoreExists):
        _files.create_private_file(store.root / "signing.json", b"replacement")
    assert (store.root / "signing.json").read_bytes() == before
    with pytest.raises(KeystoreExists):
        Keystore.create(store.root, PASS, scrypt_n=FAST_N, pbkdf2_iterations=FAST_ITER)


def test_secp256k1_keys_are_standard_keystore_v3_with_scrypt(store: Keystore) -> None:
    doc = json.loads((store.root / "signing.json").read_text())
    assert doc["version"] == 3 and doc["crypto"]["kdf"] == "scrypt"
    assert doc["crypto"]["kdfparams"]["n"] == FAST_N
    secret = decode_keyfile_json(doc, PASS.encode())  # eth-keyfile, independently of us
    assert secret == store.load_signing_key(PASS).secret_bytes()
    assert "0x" + doc["address"].lower() == store.metadata()["signing"]["address"].lower()


def test_x25519_keys_are_standard_encrypted_pkcs8_pem(store: Keystore) -> None:
    pem = (store.root / "encryption" / "v1.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key = load_pem_private_key(pem, PASS.encode())  # cryptography, independently of us
    assert isinstance(key, X25519PrivateKey)
    assert key.private_bytes_raw() == store.load_keyring(PASS).private_key(1).private_bytes_raw()
    with pytest.raises((ValueError, TypeError)):
        load_pem_private_key(pem, None)


def test_pkcs8_files_use_pbes2_with_the_configured_pbkdf2_cost(store: Keystore) -> None:
    """Not cryptography's fixed 2048 iterations: the PEM must not be the cheap target."""
    with (store.root / "encryption" / "v1.pem").open() as pem:
        der = asn1_pem.readPemFromFile(
            pem,
            startMarker="-----BEGIN ENCRYPTED PRIVATE KEY-----",
            endMarker="-----END ENCRYPTED PRIVATE KEY-----",
        )
    info, rest = decoder.decode(
        der, asn1Spec=rfc5958.EncryptedPrivateKeyInfo(), decodeOpenTypes=True
    )
    assert rest == b""
    algo = info["encryptionAlgorithm"]
    assert algo["algorithm"] == rfc8018.id_PBES2 == (1, 2, 840, 113549, 1, 5, 13)
    kdf = algo["parameters"]["keyDerivationFunc"]
    assert kdf["algorithm"] == rfc8018.id_PBKDF2 == (1, 2, 840, 113549, 1, 5, 12)
    assert kdf["parameters"]["iterationCount"] == FAST_ITER
    assert kdf["parameters"]["prf"]["algorithm"] == (1, 2, 840, 113549, 2, 9)  # HMAC-SHA256
    scheme = algo["parameters"]["encryptionScheme"]
    assert scheme["algorithm"] == (2, 16, 840, 1, 101, 3, 4, 1, 42)  # AES-256-CBC
    assert DEFAULT_PBKDF2_ITERATIONS >= 600_000


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_reads_the_pkcs8_file_with_the_passphrase(store: Keystore) -> None:
    pem = store.root / "encryption" / "v1.pem"
    proc = subprocess.run(
        [
            "openssl",
            "pkey",
            "-in",
            str(pem),
            "-passin",
            "env:KS_PASS",
            "-pubout",
            "-outform",
            "DER",
        ],
        env={**os.environ, "KS_PASS": PASS},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith(store.load_keyring(PASS).public_key(1).public_bytes())


def test_a_wrong_passphrase_is_a_clear_error_for_every_kind_of_key(store: Keystore) -> None:
    store.add_physician("dr-1", PASS)
    for load in (
        store.load_signing_key,
        store.load_p2p_key,
        store.load_keyring,
        lambda p: store.load_physician_key("dr-1", p),
        store.rotate_encryption_key,
    ):
        with pytest.raises(WrongPassphrase):
            load("wrong passphrase!!")
    assert store.metadata()["encryption"]["current"] == 1  # failed rotation wrote nothing
    assert sorted(p.name for p in (store.root / "encryption").iterdir()) == ["v1.pem"]


def test_metadata_holds_public_facts_and_no_secret(store: Keystore) -> None:
    store.add_physician("dr-2", PASS)
    text = (store.root / "keystore.json").read_text()
    secrets = [
        store.load_signing_key(PASS).secret_bytes(),
        store.load_p2p_key(PASS).secret_bytes(),
        store.load_physician_key("dr-2", PASS).secret_bytes(),
        *(store.load_keyring(PASS).private_key(1).private_bytes_raw(),),
    ]
    for secret in secrets:
        assert secret.hex() not in text.lower()
    assert PASS not in text
    reopened = Keystore.open(store.root)
    assert reopened.export_public()["signing_address"] == store.load_signing_key(PASS).address


def test_rotation_adds_a_version_and_old_wrapped_keys_still_unwrap(store: Keystore) -> None:
    before = store.load_keyring(PASS)
    dek = DataKey.generate()
    wrapped_v1 = before.wrap(dek, record_id=b"r1")
    assert store.rotate_encryption_key(PASS) == 2
    after = Keystore.open(store.root).load_keyring(PASS)
    assert after.versions == (1, 2)
    assert after.unwrap(wrapped_v1, record_id=b"r1") == dek
    assert after.rewrap(wrapped_v1, record_id=b"r1").key_version == 2
    public = Keystore.open(store.root).export_public()["encryption"]
    assert public["version"] == 2
    assert public["public_key"] == "0x" + after.public_key(2).public_bytes().hex()


def test_physician_keys_are_labelled_and_labels_cannot_escape_the_directory(
    store: Keystore,
) -> None:
    key = store.add_physician("staff-0042", PASS)
    assert Keystore.open(store.root).load_physician_key("staff-0042", PASS).address == key.address
    with pytest.raises(KeystoreExists):
        store.add_physician("staff-0042", PASS)
    for bad in ("../evil", "a/b", "", "Dr Smith", ".hidden", "x" * 65):
        with pytest.raises(KeystoreError):
            store.add_physician(bad, PASS)
    with pytest.raises(KeystoreNotFound):
        store.load_physician_key("nobody", PASS)
    with pytest.raises(WrongPassphrase):
        store.add_physician("staff-0043", "not the passphrase")
    assert not (store.root / "physicians" / "staff-0043.json").exists()


def test_metadata_that_points_outside_the_keystore_is_refused(store: Keystore) -> None:
    meta = json.loads((store.root / "keystore.json").read_text())
    meta["signing"]["file"] = "../../etc/passwd"
    (store.root / "keystore.json").write_text(json.dumps(meta))
    with pytest.raises(KeystoreError):
        Keystore.open(store.root).load_signing_key(PASS)


def test_a_key_file_swapped_for_another_key_is_detected(store: Keystore) -> None:
    (store.root / "signing.json").unlink()
    os.link(store.root / "p2p.json", store.root / "signing.json")
    with pytest.raises(KeystoreError):
        store.load_signing_key(PASS)


def test_opening_a_missing_or_foreign_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeystoreNotFound):
        Keystore.open(tmp_path / "nothing")
    (tmp_path / "keystore.json").write_text('{"format": "other"}')
    with pytest.raises(KeystoreError):
        Keystore.open(tmp_path)


def test_a_new_keystore_refuses_a_directory_that_already_holds_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("someone else's file")
    with pytest.raises(KeystoreExists, match="not empty"):
        Keystore.create(tmp_path, PASS, scrypt_n=FAST_N, pbkdf2_iterations=FAST_ITER)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
