"""A hospital's keystore directory: encrypted key files plus secret-free metadata.

Layout (directories 0700, files 0600)::

    keystore.json            metadata: addresses, public keys, versions, times; no secrets
    signing.json             hospital signing key (its chain account), keystore v3
    p2p.json                 node p2p key, keystore v3
    encryption/v1.pem, ...   hospital encryption key versions, PKCS#8 encrypted PEM
    physicians/LABEL.json    physician keys, keystore v3

One passphrase protects every file. Metadata is read without it, so listing and exporting
public keys never unlock anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from keys._files import create_private_file, ensure_private_dir, replace_private_file
from keys.abc import KeystoreAPI
from keys.envelope import EncryptionKeyring
from keys.exceptions import KeystoreError, KeystoreExists, KeystoreNotFound
from keys.keyfiles import (
    DEFAULT_PBKDF2_ITERATIONS,
    DEFAULT_SCRYPT_N,
    decrypt_signing_key,
    decrypt_x25519_key,
    encrypt_signing_key,
    encrypt_x25519_key,
)
from keys.signing import SigningKey
from keys.typing import KeyVersion

METADATA = "keystore.json"
FORMAT = "medledger-keystore/1"
_LABEL = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _check_label(label: str) -> str:
    if not isinstance(label, str) or not _LABEL.fullmatch(label) or ".." in label:
        raise KeystoreError(
            "a physician label is 1-64 characters of a-z, 0-9, '.', '_', '-' "
            "(a staff id, not a name)"
        )
    return label


def _signing_entry(key: SigningKey, file: str) -> dict[str, Any]:
    return {
        "address": key.address,
        "public_key": "0x" + key.public_key.hex(),
        "file": file,
        "created": _now(),
    }


class Keystore(KeystoreAPI):
    """An opened keystore directory (see the module docstring for the layout)."""

    __slots__ = ("_meta", "root")

    def __init__(self, root: Path, meta: dict[str, Any]) -> None:
        self.root = root
        self._meta = meta

    def __repr__(self) -> str:
        return f"Keystore(root={str(self.root)!r})"

    # --- opening and creating ----------------------------------------------------------

    @classmethod
    def open(cls, root: Path | str) -> Keystore:
        """Read the metadata of an existing keystore (no passphrase needed)."""
        root = Path(root)
        try:
            meta = json.loads((root / METADATA).read_text())
        except FileNotFoundError:
            raise KeystoreNotFound(f"no keystore at {root} (run `medledger keys new`)") from None
        except ValueError:
            raise KeystoreError(f"{root / METADATA} is not valid JSON") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise KeystoreError(f"{root / METADATA} is not a {FORMAT} keystore")
        return cls(root, meta)

    @classmethod
    def create(
        cls,
        root: Path | str,
        passphrase: str,
        *,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        pbkdf2_iterations: int = DEFAULT_PBKDF2_ITERATIONS,
    ) -> Keystore:
        """Create a hospital keystore: signing key, p2p key and encryption key version 1.

        ``scrypt_n`` and ``pbkdf2_iterations`` set the passphrase-guessing cost of the
        keystore v3 and PKCS#8 files; later keys reuse them (kept in the metadata).
        """
        root = Path(root)
        if (root / METADATA).exists():
            raise KeystoreExists(f"a keystore already exists at {root}")
        if root.exists() and any(root.iterdir()):
            raise KeystoreExists(f"{root} is not empty; a new keystore needs its own directory")
        ensure_private_dir(root)
        ensure_private_dir(root / "encryption")
        ensure_private_dir(root / "physicians")
        signing, p2p = SigningKey.generate(), SigningKey.generate()
        create_private_file(
            root / "signing.json", encrypt_signing_key(signing, passphrase, scrypt_n=scrypt_n)
        )
        create_private_file(
            root / "p2p.json", encrypt_signing_key(p2p, passphrase, scrypt_n=scrypt_n)
        )
        meta: dict[str, Any] = {
            "format": FORMAT,
            "scrypt_n": scrypt_n,
            "pbkdf2_iterations": pbkdf2_iterations,
            "signing": _signing_entry(signing, "signing.json"),
            "p2p": _signing_entry(p2p, "p2p.json"),
            "encryption": {"current": 0, "versions": {}},
            "physicians": {},
        }
        store = cls(root, meta)
        store._add_encryption_version(X25519PrivateKey.generate(), passphrase)
        return store

    # --- metadata ----------------------------------------------------------------------

    def metadata(self) -> Mapping[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(self._meta))  # callers cannot corrupt it
        return copy

    def _save(self) -> None:
        text = json.dumps(self._meta, indent=2, sort_keys=True) + "\n"
        replace_private_file(self.root / METADATA, text.encode())

    def _read(self, relative: str) -> bytes:
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise KeystoreError(f"metadata names a key file outside the keystore: {relative}")
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise KeystoreNotFound(f"key file {self.root / relative} is missing") from None

    def _load_signing(self, entry: Mapping[str, Any], passphrase: str) -> SigningKey:
        key = decrypt_signing_key(self._read(entry["file"]), passphrase)
        if key.address != entry["address"]:
            raise KeystoreError(f"{entry['file']} does not hold the key its metadata names")
        return key

    # --- secp256k1 identities ----------------------------------------------------------

    def load_signing_key(self, passphrase: str) -> SigningKey:
        return self._load_signing(self._meta["signing"], passphrase)

    def load_p2p_key(self, passphrase: str) -> SigningKey:
        return self._load_signing(self._meta["p2p"], passphrase)

    def load_physician_key(self, label: str, passphrase: str) -> SigningKey:
        entry = self._meta["physicians"].get(_check_label(label))
        if entry is None:
            raise KeystoreNotFound(f"no physician key labelled {label!r}")
        return self._load_signing(entry, passphrase)

    def add_physician(self, label: str, passphrase: str) -> SigningKey:
        """Create a physician key under ``label`` (checks the passphrase first)."""
        label = _check_label(label)
        if label in self._meta["physicians"]:
            raise KeystoreExists(f"a physician key labelled {label!r} exists")
        self.load_signing_key(passphrase)  # one passphrase for the whole keystore
        key = SigningKey.generate()
        file = f"physicians/{label}.json"
        ensure_private_dir(self.root / "physicians")
        data = encrypt_signing_key(key, passphrase, scrypt_n=int(self._meta["scrypt_n"]))
        create_private_file(self.root / file, data)
        self._meta["physicians"][label] = _signing_entry(key, file)
        self._save()
        return key

    # --- X25519 encryption key versions ------------------------------------------------

    def load_keyring(self, passphrase: str) -> EncryptionKeyring:
        keys: dict[int, X25519PrivateKey] = {}
        for version, entry in self._meta["encryption"]["versions"].items():
            key = decrypt_x25519_key(self._read(entry["file"]), passphrase)
            public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            if "0x" + public.hex() != entry["public_key"]:
                raise KeystoreError(f"{entry['file']} does not hold the key its metadata names")
            keys[int(version)] = key
        if not keys:
            raise KeystoreError("keystore has no encryption key")
        return EncryptionKeyring(keys)

    def rotate_encryption_key(self, passphrase: str) -> KeyVersion:
        self.load_keyring(passphrase)  # proves the passphrase before anything is written
        return self._add_encryption_version(X25519PrivateKey.generate(), passphrase)

    def _add_encryption_version(self, key: X25519PrivateKey, passphrase: str) -> KeyVersion:
        version = KeyVersion(int(self._meta["encryption"]["current"]) + 1)
        file = f"encryption/v{version}.pem"
        ensure_private_dir(self.root / "encryption")
        iterations = int(self._meta.get("pbkdf2_iterations", DEFAULT_PBKDF2_ITERATIONS))
        data = encrypt_x25519_key(key, passphrase, iterations=iterations)
        create_private_file(self.root / file, data)
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._meta["encryption"]["versions"][str(version)] = {
            "public_key": "0x" + public.hex(),
            "file": file,
            "created": _now(),
        }
        self._meta["encryption"]["current"] = version
        self._save()
        return version

    # --- public export -----------------------------------------------------------------

    def export_public(self) -> dict[str, Any]:
        """What the consortium needs to register this hospital: public facts only."""
        enc = self._meta["encryption"]
        current = str(enc["current"])
        return {
            "signing_address": self._meta["signing"]["address"],
            "p2p": {
                "address": self._meta["p2p"]["address"],
                "public_key": self._meta["p2p"]["public_key"],
            },
            "encryption": {
                "version": int(current),
                "public_key": enc["versions"][current]["public_key"],
                "versions": {v: e["public_key"] for v, e in enc["versions"].items()},
            },
            "physicians": {
                label: entry["address"] for label, entry in self._meta["physicians"].items()
            },
        }
