"""The node against a real chain process: chain client, Anchors sink, service, verify.

The chain is ``medledger ledger run`` (py-evm, our JSON-RPC) with the contracts deployed by
``contracts.deploy``; ingest uses the real adapters (keys.stream, HPKE, embedded blob store).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from keys.keystore import Keystore
from keys.typing import CaseId
from node.anchor.entry import OutboxBatch
from node.anchor.verify import verify_on_chain
from node.anchor.versions import VersionError, anchor_amendment
from node.bootstrap import open_blobs, open_parts, signing_account
from node.chain_anchors import ANCHOR_BATCH_GAS
from node.exceptions import BatchAlreadyAnchored, ContractReverted, ProofMismatch
from node.formats.batch_manifest import decode_manifest
from node.formats.fhir import parse_fhir
from node.ingest.adapters import KeyringWrapper, StreamCipher
from node.ingest.core import DEK_AD, PAYLOAD_AD, ingest_fhir
from node.proof.merkle import MerkleTree
from node.proof.record import AnchorInfo
from node.service import NodeService
from node.typing import BatchId, MerkleHash
from tests.integration.nodeproc import PASSPHRASE
from tests.node.chain_env import CONSORTIUM_SECRET, SECRET_ENV, ChainEnv, start_chain_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainEnv]:
    os.environ[SECRET_ENV] = CONSORTIUM_SECRET
    chain_env = start_chain_env(tmp_path_factory.mktemp("node-chain"), batch_size=8)
    try:
        yield chain_env
    finally:
        chain_env.stop()


def _observation(i: int, patient: str = "MRN-7") -> bytes:
    return (
        '{"resourceType":"Observation","status":"final","code":{"text":"heart rate"},'
        f'"subject":{{"reference":"Patient/{patient}"}},"valueQuantity":{{"value":{60 + i}}}}}'
    ).encode()


def _wait_anchored(node: NodeService, count: int, timeout: float = 30.0) -> None:
    outbox = node.outbox()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [outbox.state(r).value for r in outbox.record_ids()]
        if len(states) >= count and all(s == "anchored" for s in states):
            return
        time.sleep(0.05)
    raise AssertionError(f"not anchored in {timeout}s: {states}")


def test_records_are_anchored_in_batches_and_proofs_verify_on_chain(env: ChainEnv) -> None:
    cfg = env.config()
    account = signing_account(cfg, PASSPHRASE)
    node = NodeService(open_parts(cfg, account=account))
    node.start()
    try:
        receipts = [ingest_fhir(services=node.ingest_services(), raw=_observation(i))
                    for i in range(20)]  # fmt: skip
        node.notify()
        _wait_anchored(node, 20)
    finally:
        node.stop()
    sink = node.parts.sink
    assert sink is not None
    outbox = node.outbox()
    roots = set()
    for r in receipts:
        proof = outbox.proof(r.record_id)
        found = verify_on_chain(proof, chain=sink)
        assert found == proof.anchor
        roots.add(proof.batch_root())
    assert len(roots) >= 3  # 20 records, batches of at most 8
    # the ciphertext in the blob store decrypts (real STREAM) to the canonical payload's hash
    blobs = open_blobs(cfg)
    entry = outbox.entry(receipts[0].record_id)
    assert entry.wrapped_key[0] == 1  # keys.envelope wire format v1
    ciphertext = b"".join(blobs.get(entry.cid))
    assert ciphertext.startswith(b"MLSTRM")
    # the manifest on chain rebuilds the batch tree
    anchors = sink.chain.contract("Anchors")
    root = next(iter(roots))
    batch = anchors.functions.getBatch(root).call()
    manifest = b"".join(blobs.get(batch[4]))
    decoded_root, commitments = decode_manifest(manifest)
    assert decoded_root == root and MerkleTree(commitments).root == root
    assert batch[0] == env.hospital and batch[1] == len(commitments)
    # and it decrypts, with the DEK unwrapped by the hospital's keyring, to the canonical bytes
    keyring = Keystore.open(cfg.keystore_dir).load_keyring(PASSPHRASE)
    rid = entry.record_id
    dek = KeyringWrapper(keyring).unwrap(entry.wrapped_key, associated_data=DEK_AD + rid)
    plain = StreamCipher.decrypt(data_key=dek, ciphertext=ciphertext,
                                 associated_data=PAYLOAD_AD + rid + entry.content_hash)  # fmt: skip
    assert plain == parse_fhir(_observation(0)).canonical


def test_tampered_proof_does_not_verify(env: ChainEnv) -> None:
    cfg = env.config()
    node = NodeService(open_parts(cfg, account=signing_account(cfg, PASSPHRASE)))
    node.start()
    try:
        receipt = ingest_fhir(services=node.ingest_services(), raw=_observation(100))
        node.notify()
        _wait_anchored(node, 1)
    finally:
        node.stop()
    assert node.parts.sink is not None
    proof = node.outbox().proof(receipt.record_id)
    forged = type(proof)(proof.record_id, proof.pseudonym, bytes(32), proof.salt,  # type: ignore[arg-type]
                         proof.batch_path, proof.anchor)  # fmt: skip
    with pytest.raises(ProofMismatch):
        verify_on_chain(forged, chain=node.parts.sink)


def test_a_root_already_anchored_is_refused_with_its_decoded_error(env: ChainEnv) -> None:
    cfg = env.config()
    parts = open_parts(cfg, account=signing_account(cfg, PASSPHRASE))
    sink = parts.sink
    assert sink is not None
    leaf = MerkleHash(os.urandom(32))
    batch = OutboxBatch(BatchId(999), MerkleTree([leaf]).root, (leaf,))
    tx = sink.submit(batch)
    receipt = sink.chain.wait(tx)
    assert 0 < receipt["gasUsed"] < ANCHOR_BATCH_GAS
    assert sink.lookup(batch.root) == AnchorInfo(tx, receipt["blockNumber"])
    # a second submit (the crash-after-send case) cannot anchor the root again ...
    again = sink.submit(batch)
    with pytest.raises(ContractReverted):
        sink.chain.wait(again)
    assert sink.lookup(batch.root) == AnchorInfo(tx, receipt["blockNumber"])
    # ... and with gas estimation the refusal is raised as the decoded custom error
    fn = sink.chain.contract("Anchors").functions.anchorBatch(batch.root, 1, "bafkqaaa")
    with pytest.raises(BatchAlreadyAnchored) as info:
        sink.chain.send(fn)
    assert info.value.error == "BatchAlreadyAnchored"
    assert info.value.error_args == (batch.root,)


def test_an_amended_record_is_anchored_as_the_next_version_of_the_previous(
    env: ChainEnv,
) -> None:
    cfg = env.config()
    parts = open_parts(cfg, account=signing_account(cfg, PASSPHRASE))
    assert parts.sink is not None
    chain = parts.sink.chain
    node = NodeService(parts)
    services = node.ingest_services()
    first = ingest_fhir(services=services, raw=_observation(500, patient="MRN-V"))
    amended = ingest_fhir(services=services, raw=_observation(501, patient="MRN-V"))
    case = CaseId(os.urandom(32))
    with pytest.raises(VersionError):
        anchor_amendment(chain=chain, outbox=node.outbox(), record_id=amended.record_id,
                         previous=first.record_id, case_id=CaseId(bytes(32)))  # fmt: skip
    link = anchor_amendment(chain=chain, outbox=node.outbox(), record_id=amended.record_id,
                            previous=first.record_id, case_id=case)  # fmt: skip
    anchors = chain.contract("Anchors")
    old = anchors.functions.getRecord(first.record_id).call()
    new = anchors.functions.getRecord(amended.record_id).call()
    assert old[7] == amended.record_id and new[6] == first.record_id  # next / previous
    assert new[4] == node.outbox().entry(amended.record_id).commitment()
    assert link.block_number == new[3]
    # a second successor of the same version is refused, with the contract's error name
    third = ingest_fhir(services=services, raw=_observation(502, patient="MRN-V"))
    with pytest.raises(ContractReverted) as info:
        anchor_amendment(chain=chain, outbox=node.outbox(), record_id=third.record_id,
                         previous=first.record_id, case_id=case)  # fmt: skip
    assert info.value.error == "VersionAlreadySuperseded"
