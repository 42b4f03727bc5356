"""Content-addressed blob store: CIDs exactly as Kubo computes them, two backends.

Small exact encoders are used instead of the PyPI ``multiformats`` package: its last release
dates from 2023, it validates types at run time on every call (a cost on the hot path of a
256 MiB import) and we need only one CID shape (v1, sha2-256, raw or dag-pb, base32).
"""
