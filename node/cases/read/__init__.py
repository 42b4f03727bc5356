"""The verified read side of a granted case: the one path every reader of granted bytes takes.

The follower has replicated a received grant's sealed package and ciphertexts into our own
blob store. Reading them back, on *every* release of bytes:

1. the sealed package is opened with our keyring (:mod:`node.cases.sealed`);
2. the record's anchor is checked (:mod:`node.cases.read.anchor`): its batch inclusion
   proof must lead to a root the grantor anchored on chain, or its single-record anchor
   must commit to it;
3. its data key is unwrapped, the ciphertext decrypted and the plaintext re-hashed against
   the anchored content hash in the same pass (:mod:`node.cases.read.plaintext`); a DICOM
   study's manifest must rebuild the anchored study root and each instance re-hash to its
   manifest entry (:mod:`node.cases.read.study`).

:class:`node.cases.read.reader.GrantReader` ties these together; the gateway serves through
it and the tests read through it, so what the tests check is what production runs.
"""

from node.cases.package import PackageRecord
from node.cases.read.document import MEDIA_TYPES
from node.cases.read.reader import GrantReader, ReceivedGrant, VerifiedStudy
from node.cases.read.study import StudyInstance, instance_header

#: The read side's public API (what the gateway imports); the modules stay the node's own.
__all__ = [
    "MEDIA_TYPES",
    "GrantReader",
    "PackageRecord",
    "ReceivedGrant",
    "StudyInstance",
    "VerifiedStudy",
    "instance_header",
]
