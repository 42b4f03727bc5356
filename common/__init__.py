"""Helpers shared by every medledger package: the bottom layer, importing none of them.

``ledger``, ``node``, ``gateway`` and the ``medledger`` CLI all need the same small pieces (a
bounded memo, the JSON route class, the process allocator settings, the distribution's
version); keeping them here means no package reaches up to the CLI package for them.
"""
