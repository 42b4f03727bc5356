"""Outbox support for re-keying and crypto-shredding (design flow 7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry
from node.anchor.outbox import SHREDDED_KEY, Outbox
from node.exceptions import UnknownRecord
from node.typing import CID, ContentHash, PatientPseudonym


def _entry() -> AnchorEntry:
    return AnchorEntry(RecordId(os.urandom(32)), RecordKind.RECORD,
                       PatientPseudonym(os.urandom(32)), ContentHash(os.urandom(32)),
                       os.urandom(16), CID("bafkreiold"), b"wrapped-old")  # fmt: skip


def test_rekey_points_the_record_at_the_new_ciphertext_and_keeps_its_commitment(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    entry = _entry()
    box.append(entry)
    box.replace_key(entry.record_id, cid=CID("bafkreinew"), wrapped_key=b"wrapped-new")
    now = box.entry(entry.record_id)
    assert (now.cid, now.wrapped_key) == ("bafkreinew", b"wrapped-new")
    assert now.commitment() == entry.commitment()
    assert CID("bafkreinew") in box.referenced_cids()
    with pytest.raises(UnknownRecord):
        box.replace_key(RecordId(os.urandom(32)), cid=CID("x"), wrapped_key=b"k")


def test_shredding_overwrites_the_wrapped_key_on_disk(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    entry = _entry()
    marker = b"wrapped-key-" + os.urandom(16).hex().encode()
    box.append(AnchorEntry(entry.record_id, entry.kind, entry.pseudonym, entry.content_hash,
                           entry.salt, entry.cid, marker))  # fmt: skip
    box.shred_key(entry.record_id)
    assert box.entry(entry.record_id).wrapped_key == SHREDDED_KEY
    box.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert marker not in on_disk
    with pytest.raises(UnknownRecord):
        Outbox(tmp_path / "o.sqlite").shred_key(RecordId(os.urandom(32)))
