"""Ingest end to end over stand-ins (see tests/node/standins.py): encrypt, store, wrap, queue,
anchor on the file-backed stand-in chain, then prove records and single DICOM instances."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from contracts.typing import RecordKind
from node.anchor.drain import drain
from node.anchor.entry import RecordState
from node.anchor.outbox import Outbox
from node.anchor.verify import verify_on_chain
from node.exceptions import InvalidDicom, InvalidFhir, PatientUnresolved, ProofMismatch
from node.formats.dicom import read_study
from node.ingest.cleanup import sweep_orphans
from node.ingest.core import (
    DEK_AD,
    INSTANCE_AD,
    MANIFEST_AD,
    PAYLOAD_AD,
    IngestServices,
    ingest_fhir,
)
from node.ingest.study import ingest_dicom_study
from node.proof.json_codec import loads_proof, proof_to_json
from node.pseudonym import ConsortiumPseudonymizer
from node.typing import CID, ContentHash
from tests.node.dicom_samples import write_study
from tests.node.fake_chain import FileChain
from tests.node.standins import AesGcmCipher, AesGcmWrapper, DirStore
from tests.node.test_fhir import BUNDLE, PRESCRIPTION

SECRET = b"consortium-secret-for-tests-only" + b"\x00" * 8


@pytest.fixture
def services(tmp_path: Path) -> Iterator[IngestServices]:
    box = Outbox(tmp_path / "outbox.sqlite")
    yield IngestServices(ConsortiumPseudonymizer(SECRET), AesGcmCipher(),
                         DirStore(tmp_path / "blobs"), AesGcmWrapper(), box)  # fmt: skip
    box.close()


def _store(s: IngestServices) -> DirStore:
    assert isinstance(s.store, DirStore)
    return s.store


def _wrapper(s: IngestServices) -> AesGcmWrapper:
    assert isinstance(s.wrapper, AesGcmWrapper)
    return s.wrapper


def test_prescription_is_encrypted_stored_wrapped_and_queued_without_phi(
    services: IngestServices, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receipt = ingest_fhir(services=services, raw=json.dumps(PRESCRIPTION).encode())
    assert receipt.created and receipt.kind is RecordKind.PRESCRIPTION
    entry = services.outbox.entry(receipt.record_id)
    assert entry.pseudonym == services.pseudonymizer.pseudonym("mrn-0042")
    assert services.outbox.state(receipt.record_id) is RecordState.PENDING
    dek = _wrapper(services).unwrap(entry.wrapped_key, associated_data=DEK_AD + entry.record_id)
    ad = PAYLOAD_AD + entry.record_id + entry.content_hash
    plain = AesGcmCipher.decrypt(
        data_key=dek, ciphertext=_store(services).get(entry.cid), associated_data=ad
    )
    assert hashlib.sha256(plain).digest() == entry.content_hash == receipt.content_hash
    assert json.loads(plain) == PRESCRIPTION
    # No PHI anywhere outside the ciphertext: blob store, outbox files, logs.
    files = [*(tmp_path / "blobs").iterdir(), *tmp_path.glob("outbox.sqlite*")]
    for phi in (b"mrn-0042", b"Zhang", b"Amlodipine"):
        assert not any(phi in f.read_bytes() for f in files)
        assert phi.decode() not in caplog.text
    assert receipt.record_id.hex() in caplog.text


def test_same_content_again_is_the_same_record_and_stores_nothing(services: IngestServices) -> None:
    first = ingest_fhir(services=services, raw=json.dumps(BUNDLE).encode())
    stored = _store(services).cids()
    again = ingest_fhir(services=services, raw=json.dumps(BUNDLE, indent=2).encode())
    assert (again.record_id, again.created) == (first.record_id, False)
    assert _store(services).cids() == stored


def test_bad_input_and_failures_after_storing_leave_nothing_behind(
    services: IngestServices,
) -> None:
    with pytest.raises(InvalidFhir):
        ingest_fhir(services=services, raw=b'{"resourceType": "MedicationRequest"}')
    _wrapper(services).fail = True
    with pytest.raises(RuntimeError, match="key unavailable"):
        ingest_fhir(services=services, raw=json.dumps(PRESCRIPTION).encode())
    assert _store(services).cids() == set()
    assert services.outbox.record_ids() == []


def test_dicom_study_failure_midway_discards_every_stored_instance(
    services: IngestServices, tmp_path: Path
) -> None:
    write_study(tmp_path / "study")
    _store(services).fail_after = 3
    with pytest.raises(OSError, match="disk full"):
        ingest_dicom_study(services=services, study=read_study(tmp_path / "study"))
    assert _store(services).cids() == set() and services.outbox.record_ids() == []
    _store(services).fail_after = None
    study = read_study(tmp_path / "study")
    (tmp_path / "study" / "mr" / "2.dcm").write_bytes(b"swapped after validation")
    with pytest.raises(InvalidDicom, match="changed while"):
        ingest_dicom_study(services=services, study=study)
    assert _store(services).cids() == set() and services.outbox.record_ids() == []
    write_study(tmp_path / "study")
    with pytest.raises(PatientUnresolved, match="different patient"):
        ingest_dicom_study(services=services, study=read_study(tmp_path / "study"),
                           patient_id="someone-else")  # fmt: skip


def test_anchored_records_and_one_dicom_instance_verify_against_the_chain(
    services: IngestServices, tmp_path: Path
) -> None:
    files = write_study(tmp_path / "study")
    study = read_study(tmp_path / "study")
    rx = ingest_fhir(services=services, raw=json.dumps(PRESCRIPTION).encode())
    img = ingest_dicom_study(services=services, study=study)
    assert img.kind is RecordKind.DICOM_STUDY and img.content_hash == study.tree().root
    chain = FileChain(tmp_path / "chain.jsonl", rng=random.Random(0))
    assert drain(outbox=services.outbox, sink=chain, max_batch_size=10, max_rounds=10) == 1

    rx_proof = loads_proof(json.dumps(proof_to_json(services.outbox.proof(rx.record_id))))
    assert verify_on_chain(rx_proof, chain=chain) == rx_proof.anchor

    # One CT instance proven alone: its bytes -> series -> study -> batch root on chain.
    ct_hash = hashlib.sha256(files["ct/1.dcm"]).digest()
    ct = next(i for i in study.instances if i.content_hash == ct_hash)
    tree = study.tree()
    proof = services.outbox.proof(img.record_id).with_instance(
        tree.instance_proof(ct.series_uid, ct.sop_uid)
    )
    assert proof.instance is not None
    assert proof.instance.instance_hash == hashlib.sha256(files["ct/1.dcm"]).digest()
    verify_on_chain(proof, chain=chain)

    # The encrypted manifest names every instance CID; each decrypts to the stored file.
    entry = services.outbox.entry(img.record_id)
    dek = _wrapper(services).unwrap(entry.wrapped_key, associated_data=DEK_AD + entry.record_id)
    manifest = json.loads(AesGcmCipher.decrypt(
        data_key=dek, ciphertext=_store(services).get(entry.cid),
        associated_data=MANIFEST_AD + entry.record_id + entry.content_hash))  # fmt: skip
    listed = [i for s in manifest["series"] for i in s["instances"]]
    assert len(listed) == 5
    for item in listed:
        ad = INSTANCE_AD + entry.record_id + bytes.fromhex(item["sha256"])
        ciphertext = _store(services).get(item["cid"])
        plain = AesGcmCipher.decrypt(data_key=dek, ciphertext=ciphertext, associated_data=ad)
        assert hashlib.sha256(plain).hexdigest() == item["sha256"]

    real = tree.instance_proof(ct.series_uid, ct.sop_uid)
    forged = proof.with_instance(replace(real, instance_hash=ContentHash(b"\x00" * 32)))
    with pytest.raises(ProofMismatch):
        verify_on_chain(forged, chain=chain)


def test_a_study_stored_in_several_groups_lists_every_instance_or_leaves_nothing(
    services: IngestServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import node.ingest.study

    monkeypatch.setattr(node.ingest.study, "DICOM_GROUP_BYTES", 1)  # one instance per group
    write_study(tmp_path / "study")
    _store(services).fail_after = 3  # the fourth put: in a later group
    with pytest.raises(OSError, match="disk full"):
        ingest_dicom_study(services=services, study=read_study(tmp_path / "study"))
    assert _store(services).cids() == set() and services.outbox.record_ids() == []
    _store(services).fail_after = None
    img = ingest_dicom_study(services=services, study=read_study(tmp_path / "study"))
    entry = services.outbox.entry(img.record_id)
    dek = _wrapper(services).unwrap(entry.wrapped_key, associated_data=DEK_AD + entry.record_id)
    manifest = json.loads(AesGcmCipher.decrypt(
        data_key=dek, ciphertext=_store(services).get(entry.cid),
        associated_data=MANIFEST_AD + entry.record_id + entry.content_hash))  # fmt: skip
    listed = [i for s in manifest["series"] for i in s["instances"]]
    assert len(listed) == 5 and len({i["cid"] for i in listed}) == 5
    assert _store(services).cids() == {entry.cid, *(i["cid"] for i in listed)}


def test_sweep_after_a_crash_discards_orphans_and_keeps_every_referenced_instance(
    services: IngestServices, tmp_path: Path
) -> None:
    write_study(tmp_path / "study")
    ingest_dicom_study(services=services, study=read_study(tmp_path / "study"))
    ingest_fhir(services=services, raw=json.dumps(PRESCRIPTION).encode())
    kept = _store(services).cids()
    assert len(kept) == 5 + 1 + 1  # instances, manifest, prescription
    # What a kill -9 between "ciphertext stored" and "outbox committed" leaves behind:
    orphan = _store(services).put(b"ciphertext of an ingest that never committed")
    swept = sweep_orphans(outbox=services.outbox, store=services.store,
                          stored=[CID(c) for c in _store(services).cids()])  # fmt: skip
    assert swept == 1 and orphan not in _store(services).cids()
    assert _store(services).cids() == kept


def test_interrupt_after_the_outbox_commit_keeps_the_acknowledged_ciphertext(
    services: IngestServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt landing right after the commit must not discard committed blobs."""
    real_append = services.outbox.append

    def append_then_interrupt(*args: object, **kwargs: object) -> object:
        real_append(*args, **kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(services.outbox, "append", append_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        ingest_fhir(services=services, raw=json.dumps(PRESCRIPTION).encode())
    [record_id] = services.outbox.record_ids()
    assert services.outbox.entry(record_id).cid in _store(services).cids()
