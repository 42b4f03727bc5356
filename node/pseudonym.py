"""Consortium pseudonyms: the only form in which a patient leaves the node.

``pseudonym = HMAC-SHA256(consortium_secret, DOMAIN || NFC(local_patient_id))``

Why HMAC with a shared secret rather than a plain hash: local patient ids are short and
structured (an MRN, a national id), so a plain hash is reversed by enumeration; without the
secret nobody can test guesses. The domain string separates this MAC from any other use of the
same secret and carries a version. Unicode NFC normalization makes ids typed on different
systems (composed vs decomposed characters) give one pseudonym; leading/trailing whitespace is
refused rather than stripped, so an id is never silently changed.

Patient ids are never logged: this module logs nothing, its errors never quote the id, and
:class:`ConsortiumPseudonymizer` hides its secret from ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from node.exceptions import PatientUnresolved, PseudonymKeyError
from node.typing import PatientPseudonym

DOMAIN = b"medledger:patient-pseudonym:v1\x00"
MIN_SECRET_LEN = 32
MAX_PATIENT_ID_LEN = 256


def _normalize(local_patient_id: str) -> bytes:
    if not local_patient_id or len(local_patient_id) > MAX_PATIENT_ID_LEN:
        raise PatientUnresolved(f"a patient id is 1..{MAX_PATIENT_ID_LEN} characters")
    if local_patient_id != local_patient_id.strip() or "\x00" in local_patient_id:
        raise PatientUnresolved("a patient id has no surrounding whitespace or NUL")
    return unicodedata.normalize("NFC", local_patient_id).encode("utf-8")


class ConsortiumPseudonymizer:
    """Maps local patient ids to consortium pseudonyms.

    Parameters
    ----------
    secret
        The consortium secret, at least 32 bytes (256 bits), shared by every member.

    Raises
    ------
    PseudonymKeyError
        If the secret is not bytes or is shorter than 32 bytes.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_LEN:
            raise PseudonymKeyError(
                f"the consortium secret must be at least {MIN_SECRET_LEN} bytes"
            )
        self._secret = secret

    def __repr__(self) -> str:
        return "ConsortiumPseudonymizer(secret=<hidden>)"

    def pseudonym(self, local_patient_id: str) -> PatientPseudonym:
        """The pseudonym of a local patient id."""
        mac = hmac.new(self._secret, DOMAIN + _normalize(local_patient_id), hashlib.sha256)
        return PatientPseudonym(mac.digest())

    def matches(self, local_patient_id: str, pseudonym: bytes) -> bool:
        """Constant-time check that ``pseudonym`` is this patient's."""
        return hmac.compare_digest(self.pseudonym(local_patient_id), pseudonym)
