"""``ValidatorNode`` (what ``ledger run`` serves in a consortium) exposes evidence over RPC."""

from __future__ import annotations

import time
from pathlib import Path

from ledger.chain import Ledger
from ledger.consensus import KeySigner, VoteKind, sign_vote
from ledger.p2p import codec
from ledger.p2p.config import P2PSettings, PeerSettings
from ledger.p2p.framing import Kind
from ledger.rpc.modules.misc import Medledger
from ledger.typing import Hash32
from ledger.validator import ValidatorNode
from tests.integration.bft_cluster import free_ports
from tests.ledger.helpers import CHAIN_ID, address, make_genesis
from tests.ledger.p2p.cluster import VALIDATOR_KEYS


def test_equivocation_seen_by_a_validator_is_served_by_medledger_get_equivocations(
    tmp_path: Path,
) -> None:
    genesis = make_genesis(validators=[address(k) for k in VALIDATOR_KEYS])
    ports = free_ports(4)
    settings = P2PSettings(
        port=ports[0],
        peers=[
            PeerSettings(address=address(k), port=port)
            for k, port in zip(VALIDATOR_KEYS, ports, strict=True)
        ],
    )
    ledger = Ledger(tmp_path, genesis, validator_key=VALIDATOR_KEYS[0])
    node = ValidatorNode(ledger, key=VALIDATOR_KEYS[0], settings=settings, data_dir=tmp_path)
    try:
        assert Medledger(node).get_equivocations() == []
        liar = KeySigner(VALIDATOR_KEYS[2])
        for value in (b"\x01", b"\x02"):
            vote = sign_vote(
                liar,
                chain_id=CHAIN_ID,
                kind=VoteKind.PREVOTE,
                height=1,
                round_=0,
                value=Hash32(value * 32),
            )
            frame = codec.encode_consensus(vote)
            # as the transport would deliver it: on the node's own event loop
            node._loop.call_soon_threadsafe(
                node.node._on_frame, liar.address, Kind.CONSENSUS, frame
            )
        for _ in range(100):
            if node.equivocations():
                break
            time.sleep(0.05)
        served = Medledger(node).get_equivocations()
        assert [record["offender"] for record in served] == ["0x" + liar.address.hex()]
        assert served[0]["height"] == 1
    finally:
        node.close()
