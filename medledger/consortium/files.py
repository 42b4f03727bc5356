"""Secret and config files of a hospital directory.

Secret files are created with mode 0600 from the start (``O_CREAT | O_EXCL``), so they are
never readable by others and never silently replace an existing file. Nothing here logs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_MODE = 0o600
#: The go-libp2p pre-shared-key file Kubo reads as ``$IPFS_PATH/swarm.key``.
SWARM_KEY_HEADER = "/key/swarm/psk/1.0.0/\n/base16/\n"


def write_private(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 and ``text``; fails if it exists."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, SECRET_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), SECRET_MODE)
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write_public(path: Path, text: str) -> None:
    """Create a non-secret file; fails if it exists (``init`` never overwrites)."""
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)


def new_swarm_key() -> str:
    """A fresh Kubo private-network key: the PSK header and 32 random bytes in hex."""
    return SWARM_KEY_HEADER + secrets.token_hex(32) + "\n"


def new_hex_secret(n_bytes: int = 32) -> str:
    return secrets.token_hex(n_bytes)


def env_file(values: dict[str, str]) -> str:
    """A dotenv file pydantic-settings and ``docker compose --env-file`` both read."""
    lines = []
    for key, value in values.items():
        if any(c in value for c in "\n\r\"'#$ \\"):
            raise ValueError(f"{key}: value needs no quoting in an env file")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse what :func:`env_file` writes (``KEY=value`` lines, ``#`` comments)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values
