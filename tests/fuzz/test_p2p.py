"""Fuzzing the p2p decoders: codec payloads, the frame reader and opener, handshake messages.

Each decoder gets raw bytes, RLP built from random nested lists (so the shapes are right
more often than random bytes would be), and valid messages with one byte changed. Only the
package's declared errors may escape: ``FrameError`` from the codec and the framing,
``HandshakeRefused`` from the handshake messages; the frame *reader* also ends with
``asyncio.IncompleteReadError`` when the stream ends mid-frame, which is how the transport
learns that a link closed. Anything else (an ``IndexError``, a ``TypeError``) is a crash.
The real responder, on a socket pair, is fed fuzzed first messages. The endpoint a hello
announces is dialed later: it is refused (``BadEndpoint``) or something the resolver takes.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import rlp
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.consensus.types import Proposal, Vote, VoteKind
from ledger.p2p import codec
from ledger.p2p.cipher import Ephemeral, FrameCipher
from ledger.p2p.endpoints import BadEndpoint, dial_target
from ledger.p2p.exceptions import FrameError, HandshakeRefused
from ledger.p2p.framing import Kind, Session, pack_raw, read_raw
from ledger.p2p.handshake import respond
from ledger.p2p.hello import (
    HELLO_TAG,
    HELLO_TAG_V1,
    Hello,
    Reply,
    decode_finish,
    decode_hello,
    decode_reply,
    encode_finish,
    encode_hello,
    encode_reply,
)
from ledger.p2p.keys import NodeKey
from ledger.typing import Address, Hash32
from tests.fuzz.conftest import fuzz_settings

_leaf = st.binary(max_size=40) | st.sampled_from(
    [b"", b"\x00", b"\x01", b"\x02", b"\x03", b"\x05", bytes(20), bytes(32), bytes(65)]
)
_tree = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=7), max_leaves=20)
_rlp = st.builds(lambda tree: bytes(rlp.encode(tree)), _tree)


def _mutate(valid: bytes, data: st.DataObject) -> bytes:
    """``valid`` with one byte changed, cut short, or extended (never ``valid`` itself)."""
    how = data.draw(st.sampled_from(["flip", "cut", "extend"]))
    if how == "cut":
        return valid[: data.draw(st.integers(0, max(len(valid) - 1, 0)))]
    if how == "extend":
        return valid + data.draw(st.binary(min_size=1, max_size=8))
    at = data.draw(st.integers(0, len(valid) - 1))
    return valid[:at] + bytes([valid[at] ^ data.draw(st.integers(1, 255))]) + valid[at + 1 :]


_VOTE = Vote(VoteKind.PREVOTE, 3, 0, Hash32(b"\x11" * 32), Address(b"\x22" * 20), b"\x33" * 65)
_PROPOSAL = Proposal(3, 1, Hash32(b"\x11" * 32), -1, Address(b"\x22" * 20), b"\x33" * 65)
_VALID_PAYLOADS: dict[str, bytes] = {
    "status": codec.encode_status(7),
    "transactions": codec.encode_transactions([b"\x02\xf8" + b"\x00" * 30, b"\x01"]),
    "consensus": codec.encode_consensus(_VOTE),
    "proposal": codec.encode_consensus(_PROPOSAL, b"\xc0"),
    "get_blocks": codec.encode_get_blocks(1, 64),
    "blocks": codec.encode_blocks([(b"\xc0", b"\x01")]),
}
_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "status": codec.decode_status,
    "transactions": codec.decode_transactions,
    "consensus": codec.decode_consensus,
    "get_blocks": codec.decode_get_blocks,
    "blocks": codec.decode_blocks,
    "block": codec.decode_block,
}


def _only_frame_errors(payload: bytes) -> None:
    for decode in _DECODERS.values():
        try:
            decode(payload)
        except FrameError:
            pass


@fuzz_settings()
@given(st.binary(max_size=300) | _rlp)
@example(b"")
@example(bytes(rlp.encode([[b""], b""])))  # a consensus message with an empty list
@example(bytes(rlp.encode([[b"\x01", b"\x03", b"", b"", bytes(20), bytes(65)], b""])))
def test_codec_decoders_raise_only_frame_errors(payload: bytes) -> None:
    _only_frame_errors(payload)


@fuzz_settings()
@given(st.data())
def test_codec_decoders_on_mutated_valid_payloads_raise_only_frame_errors(
    data: st.DataObject,
) -> None:
    valid = _VALID_PAYLOADS[data.draw(st.sampled_from(sorted(_VALID_PAYLOADS)))]
    _only_frame_errors(_mutate(valid, data))


def _read(stream: bytes, limit: int) -> bytes | None:
    async def run() -> bytes | None:
        reader = asyncio.StreamReader()
        reader.feed_data(stream)
        reader.feed_eof()
        try:
            return await read_raw(reader, limit)
        except (FrameError, asyncio.IncompleteReadError):
            return None

    return asyncio.run(run())


@fuzz_settings()
@given(st.binary(max_size=200), st.integers(0, 256))
@example(b"\xff\xff\xff\xff", 16)
@example(b"\x00\x00\x00\x00", 0)
def test_the_frame_reader_raises_only_frame_errors_or_ends_the_stream(
    stream: bytes, limit: int
) -> None:
    body = _read(stream, limit)
    if body is not None:
        assert len(body) <= limit and stream[4 : 4 + len(body)] == body


def _pair() -> tuple[Session, Session]:
    a2b, b2a = b"\x01" * 32, b"\x02" * 32
    peer = Address(bytes(20))
    sender = Session(peer=peer, session_id=b"", send=FrameCipher(a2b), receive=FrameCipher(b2a))
    receiver = Session(peer=peer, session_id=b"", send=FrameCipher(b2a), receive=FrameCipher(a2b))
    return sender, receiver


@fuzz_settings()
@given(st.binary(max_size=200))
@example(b"")
@example(bytes(17))
def test_opening_a_random_body_raises_only_frame_errors(body: bytes) -> None:
    _, receiver = _pair()
    try:
        receiver.open(body)
    except FrameError:
        pass
    else:
        raise AssertionError("a random body opened")  # 2^-128: a forgery


@fuzz_settings()
@given(st.data(), st.sampled_from(list(Kind)), st.binary(max_size=100))
def test_a_sealed_frame_changed_in_any_way_fails_to_open(
    data: st.DataObject, kind: Kind, payload: bytes
) -> None:
    sender, receiver = _pair()
    framed = sender.seal(kind, payload)
    body = _read(framed, 1 << 20)
    assert body is not None
    changed = _mutate(body, data)
    try:
        receiver.open(changed)
    except FrameError:
        return
    raise AssertionError("a changed frame opened")


_HELLO = encode_hello(Hello(1337, b"\x01" * 32, Address(b"\x02" * 20), b"h:1", b"\x03" * 32))
_REPLY = encode_reply(Reply(b"\x04" * 32, Address(b"\x05" * 20), b"\x06" * 32, b"\x07" * 65))
_FINISH = encode_finish(b"\x08" * 65)
_HANDSHAKE = {"hello": _HELLO, "reply": _REPLY, "finish": _FINISH}


def _only_handshake_errors(message: bytes) -> None:
    for decode in (decode_hello, decode_reply, decode_finish):
        try:
            decode(message)
        except HandshakeRefused:
            pass


@fuzz_settings()
@given(
    st.binary(max_size=300)
    | _rlp
    | st.builds(
        lambda tag, rest: bytes(rlp.encode([tag, *rest])),
        st.sampled_from([HELLO_TAG, HELLO_TAG_V1]),
        st.lists(_leaf, max_size=6),
    )
)
@example(bytes(rlp.encode([HELLO_TAG, b"\x00", bytes(32), bytes(20), b"", bytes(32)])))
@example(bytes(rlp.encode([HELLO_TAG, b"", bytes(32), bytes(20), b"\xff", bytes(32)])))
def test_handshake_decoders_raise_only_handshake_refused(message: bytes) -> None:
    _only_handshake_errors(message)


@fuzz_settings()
@given(st.data())
def test_handshake_decoders_on_mutated_valid_messages_raise_only_handshake_refused(
    data: st.DataObject,
) -> None:
    _only_handshake_errors(
        _mutate(_HANDSHAKE[data.draw(st.sampled_from(sorted(_HANDSHAKE)))], data)
    )


@fuzz_settings()
@given(
    st.text(alphabet=st.characters(codec="ascii"), max_size=70)
    | st.builds(
        lambda host, port: f"{host}:{port}",
        st.text(alphabet=st.sampled_from("ab.-:[]\x00 1"), max_size=12),
        st.integers(0, 70000),
    )
)
@example("a..b:30303")  # passed the old parser; every dial then raised UnicodeError
@example("x\x00y:30303")  # passed too; every dial then raised ValueError (NUL)
@example(".:1")
def test_an_announced_endpoint_is_refused_or_resolvable(announced: str) -> None:
    """The announcement in a signed hello becomes where we dial: it must be dialable."""
    try:
        host, port = dial_target(announced, "127.0.0.1")
    except BadEndpoint:
        return
    assert 1 <= port <= 65535
    try:  # numeric only: no DNS query, but the host goes through the resolver's checks
        socket.getaddrinfo(host, port, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass


_RESPONDER = NodeKey(b"\x52" * 32)
_KNOWN = Address(NodeKey(b"\x51" * 32).address)
_GOOD_HELLO = encode_hello(Hello(1337, b"\x01" * 32, _KNOWN, b"h:1", Ephemeral().public))


async def _respond_to(stream: bytes) -> None:
    """Run the real responder on one end of a socket pair; the other end sends ``stream``."""
    ours, theirs = socket.socketpair()
    try:
        reader, writer = await asyncio.open_connection(sock=ours)
        _, peer = await asyncio.open_connection(sock=theirs)
        peer.write(stream)
        peer.write_eof()
        try:
            await asyncio.wait_for(
                respond(reader, writer, key=_RESPONDER, chain_id=1337, known={_KNOWN}), 5
            )
        finally:
            writer.close()
            peer.close()
    finally:
        ours.close()
        theirs.close()


@st.composite
def _mutated_hello(draw: st.DrawFn) -> bytes:
    return pack_raw(_mutate(_GOOD_HELLO, draw(st.data())))


@fuzz_settings(short=30, long=600)
@given(
    st.binary(max_size=200) | st.builds(pack_raw, st.binary(max_size=200) | _rlp) | _mutated_hello()
)
@example(b"")  # the peer hangs up at once
@example(pack_raw(_GOOD_HELLO))  # a good hello, then the peer hangs up before its finish
def test_the_responder_refuses_any_first_message_with_handshake_refused(stream: bytes) -> None:
    """Over a real socket pair: a fuzzed hello (raw, framed, mutated) only ever refuses."""
    try:
        asyncio.run(_respond_to(stream))
    except HandshakeRefused:
        return
    raise AssertionError("a handshake completed without a finish")
