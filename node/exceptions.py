"""Errors of the node package; every one derives from :class:`NodeError`."""

from __future__ import annotations


class NodeError(Exception):
    """Root of every error raised by the node package."""


class BlobStoreError(NodeError):
    """Root of every blob store failure, whatever the backend."""


class InvalidCID(BlobStoreError):
    """A string is not a CID this store can address (malformed, or not CIDv1 sha2-256)."""


class BlobNotFound(BlobStoreError):
    """A block or blob is not in the store."""


class CorruptedBlock(BlobStoreError):
    """A block's bytes do not hash to its CID, or a node cannot be decoded.

    Raised before any byte of the corrupted block is released to the caller.
    """


class CIDMismatch(BlobStoreError):
    """The CID a backend reports differs from the CID we computed for the same bytes."""


class DaemonUnreachable(BlobStoreError):
    """The IPFS daemon did not answer (connection refused, timeout) after every retry."""


class DaemonError(BlobStoreError):
    """The IPFS daemon answered with an error."""
