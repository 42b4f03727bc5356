"""Authenticated, encrypted links: handshake over real loopback TCP, AEAD frames, limits, replay."""

from __future__ import annotations

import asyncio
import struct

import pytest

from ledger.p2p.cipher import FrameCipher
from ledger.p2p.exceptions import FrameError, HandshakeRefused
from ledger.p2p.framing import MAX_FRAME, Kind, Session, pack_raw, read_raw
from ledger.p2p.handshake import initiate, respond
from ledger.p2p.keys import NodeKey
from ledger.typing import Address

CHAIN = 4242
A, B, C = (NodeKey(bytes([k]) * 32) for k in (0x51, 0x52, 0x53))


async def _handshake(
    initiator: NodeKey,
    responder: NodeKey,
    *,
    known: set[Address],
    expected: Address | None = None,
    chain_i: int = CHAIN,
    announce: str = "",
) -> tuple[Session | BaseException, Session | BaseException]:
    """Run both ends over a real TCP connection on loopback; return each end's outcome."""
    done: asyncio.Future[Session | BaseException] = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            done.set_result(
                await respond(reader, writer, key=responder, chain_id=CHAIN, known=known)
            )
        except Exception as exc:
            done.set_result(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        mine: Session | BaseException = await asyncio.wait_for(
            initiate(
                reader,
                writer,
                key=initiator,
                chain_id=chain_i,
                expected=expected or responder.address,
                announce=announce,
            ),
            5,
        )
    except Exception as exc:
        mine = exc
    writer.close()
    theirs = await asyncio.wait_for(done, 5)
    server.close()
    return mine, theirs


@pytest.mark.asyncio
async def test_two_configured_validators_authenticate_each_other() -> None:
    mine, theirs = await _handshake(A, B, known={A.address, B.address})
    assert isinstance(mine, Session) and isinstance(theirs, Session)
    assert mine.peer == B.address and theirs.peer == A.address
    assert mine.session_id == theirs.session_id
    kind, payload = theirs.open(await _frame(mine.seal(Kind.STATUS, b"\x01")))
    assert (kind, payload) == (Kind.STATUS, b"\x01")


@pytest.mark.asyncio
async def test_the_initiator_announces_where_it_listens_inside_the_signed_transcript() -> None:
    mine, theirs = await _handshake(A, B, known={A.address}, announce="10.0.0.7:30303")
    assert isinstance(mine, Session) and isinstance(theirs, Session)
    assert theirs.announced == "10.0.0.7:30303" and mine.announced == ""
    assert mine.session_id == theirs.session_id


@pytest.mark.asyncio
async def test_an_oversize_announcement_is_refused_before_anything_is_sent() -> None:
    mine, _ = await _handshake(A, B, known={A.address}, announce="h" * 250 + ":30303")
    assert isinstance(mine, HandshakeRefused)


async def _frame(data: bytes) -> bytes:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return await read_raw(reader)


@pytest.mark.asyncio
async def test_an_unknown_key_is_refused() -> None:
    mine, theirs = await _handshake(C, B, known={A.address, B.address})
    assert isinstance(theirs, HandshakeRefused)
    assert not isinstance(mine, Session)


@pytest.mark.asyncio
async def test_an_endpoint_with_another_key_than_configured_is_refused() -> None:
    mine, _ = await _handshake(A, C, known={A.address, C.address}, expected=B.address)
    assert isinstance(mine, HandshakeRefused)


@pytest.mark.asyncio
async def test_a_peer_of_another_chain_is_refused() -> None:
    _, theirs = await _handshake(A, B, known={A.address, B.address}, chain_i=CHAIN + 1)
    assert isinstance(theirs, HandshakeRefused)


def _pair(keys: tuple[bytes, bytes] = (b"\x01" * 32, b"\x02" * 32)) -> tuple[Session, Session]:
    """A's end and B's end of one session whose directions use ``keys`` (a→b, b→a)."""
    a2b, b2a = keys
    sid = bytes(32)
    mine = Session(peer=B.address, session_id=sid, send=FrameCipher(a2b), receive=FrameCipher(b2a))
    theirs = Session(
        peer=A.address, session_id=sid, send=FrameCipher(b2a), receive=FrameCipher(a2b)
    )
    return mine, theirs


@pytest.mark.asyncio
async def test_a_tampered_frame_is_refused() -> None:
    sender, receiver = _pair()
    body = bytearray(await _frame(sender.seal(Kind.TRANSACTIONS, b"\xc0")))
    body[3] ^= 0x01
    with pytest.raises(FrameError):
        receiver.open(bytes(body))


@pytest.mark.asyncio
async def test_a_replayed_frame_is_refused() -> None:
    sender, receiver = _pair()
    first = await _frame(sender.seal(Kind.STATUS, b"\x01"))
    receiver.open(first)
    with pytest.raises(FrameError, match="failed authentication"):
        receiver.open(first)


@pytest.mark.asyncio
async def test_a_frame_from_another_session_or_reflected_back_is_refused() -> None:
    sender, _ = _pair()
    _, other = _pair((b"\x03" * 32, b"\x04" * 32))
    frame = await _frame(sender.seal(Kind.STATUS, b"\x01"))
    with pytest.raises(FrameError, match="failed authentication"):
        other.open(frame)
    back_to_sender, _ = _pair()
    with pytest.raises(FrameError, match="failed authentication"):
        back_to_sender.open(frame)


@pytest.mark.asyncio
async def test_an_oversize_frame_is_refused_before_it_is_read() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(struct.pack(">I", MAX_FRAME + 1))  # no body follows: never read
    with pytest.raises(FrameError, match="exceeds"):
        await read_raw(reader)
    with pytest.raises(FrameError):
        pack_raw(b"\x00" * 11, limit=10)
