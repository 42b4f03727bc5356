"""The installed distribution's version, for ``--version`` and the services' OpenAPI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("medledger")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
