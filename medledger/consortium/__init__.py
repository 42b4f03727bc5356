"""A consortium of hospitals on one machine or one compose project: its files and its votes.

``layout`` names hospitals, ports and hosts (pure data); ``files`` writes the secret and
config files; ``writer`` creates a whole consortium directory; ``admission`` walks the
on-chain admission vote; ``cli`` is ``medledger consortium …``.
"""
