"""Consortium pseudonyms: keyed, deterministic, domain-separated, never exposing the id."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from node.exceptions import PatientUnresolved, PseudonymKeyError
from node.pseudonym import DOMAIN, ConsortiumPseudonymizer

SECRET = bytes(range(32))


def test_pseudonym_is_hmac_sha256_over_domain_and_id() -> None:
    expected = hmac.new(SECRET, DOMAIN + b"MRN-0042", hashlib.sha256).digest()
    assert ConsortiumPseudonymizer(SECRET).pseudonym("MRN-0042") == expected
    # The domain matters: a bare HMAC of the id is a different value.
    assert expected != hmac.new(SECRET, b"MRN-0042", hashlib.sha256).digest()


def test_two_hospitals_with_the_consortium_secret_agree_and_others_do_not() -> None:
    a, b = ConsortiumPseudonymizer(SECRET), ConsortiumPseudonymizer(bytes(SECRET))
    outsider = ConsortiumPseudonymizer(b"\xff" * 32)
    assert a.pseudonym("p1") == b.pseudonym("p1")
    assert a.pseudonym("p1") != a.pseudonym("p2")
    assert outsider.pseudonym("p1") != a.pseudonym("p1")
    assert a.matches("p1", b.pseudonym("p1"))
    assert not a.matches("p2", b.pseudonym("p1"))


def test_unicode_forms_of_one_id_give_one_pseudonym() -> None:
    p = ConsortiumPseudonymizer(SECRET)
    assert p.pseudonym("Jos\u00e9-1") == p.pseudonym("Jose\u0301-1")


def test_short_secret_and_bad_ids_are_refused_without_quoting_them() -> None:
    with pytest.raises(PseudonymKeyError):
        ConsortiumPseudonymizer(b"\x00" * 31)
    with pytest.raises(PseudonymKeyError):
        ConsortiumPseudonymizer("x" * 40)  # type: ignore[arg-type]
    p = ConsortiumPseudonymizer(SECRET)
    for bad in ["", " MRN-7 ", "a" * 257, "M\x00"]:
        with pytest.raises(PatientUnresolved) as info:
            p.pseudonym(bad)
        assert bad.strip() == "" or bad.strip() not in str(info.value)
    assert SECRET.hex() not in repr(p) and "hidden" in repr(p)
