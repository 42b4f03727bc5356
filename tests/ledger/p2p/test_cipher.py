"""The link's key schedule and frame cipher, and the handshake that feeds them.

Handshakes run over real loopback TCP (``tests.ledger.p2p.test_links._handshake``); the
primitives are pyca/cryptography's, checked here only for how they are composed: same keys
on both ends, different keys per direction, the counter nonce, the counter limit.
"""

from __future__ import annotations

import asyncio

import pytest
import rlp
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ledger.p2p.cipher import COUNTER_LIMIT, Ephemeral, FrameCipher, derive_keys
from ledger.p2p.exceptions import FrameError, HandshakeRefused
from ledger.p2p.framing import Kind, Session, pack_raw, read_raw
from ledger.p2p.handshake import initiate, respond
from ledger.p2p.hello import HELLO_TAG_V1, LegacyPeer, decode_reply, encode_reply
from tests.ledger.p2p.test_links import CHAIN, A, B, _frame, _handshake, _pair


def test_both_ends_of_an_agreement_derive_the_same_two_keys_and_directions_differ() -> None:
    i, r = Ephemeral(), Ephemeral()
    transcript = b"\x07" * 32
    keys_i = derive_keys(i.agree(r.public), transcript)
    keys_r = derive_keys(r.agree(i.public), transcript)
    assert keys_i == keys_r
    i2r, r2i = keys_i
    assert i2r != r2i and len(i2r) == len(r2i) == 32
    assert derive_keys(i.agree(r.public), b"\x08" * 32) != keys_i  # bound to the transcript
    assert derive_keys(i.agree(Ephemeral().public), transcript) != keys_i  # fresh per link


def test_a_low_order_or_short_ephemeral_key_is_refused() -> None:
    with pytest.raises(HandshakeRefused, match="not usable"):
        Ephemeral().agree(bytes(32))
    with pytest.raises(HandshakeRefused, match="32 bytes"):
        Ephemeral().agree(b"\x09" * 31)


def test_the_nonce_is_the_frame_counter_and_never_repeats() -> None:
    key = b"\x05" * 32
    sender = FrameCipher(key)
    reference = ChaCha20Poly1305(key)
    sealed = [sender.seal(b"same plaintext", b"ad") for _ in range(3)]
    assert len(set(sealed)) == 3  # one plaintext, three nonces
    for counter, frame in enumerate(sealed):
        nonce = counter.to_bytes(12, "big")
        assert reference.decrypt(nonce, frame, b"ad") == b"same plaintext"
    receiver = FrameCipher(key)
    assert [receiver.open(f, b"ad") for f in sealed] == [b"same plaintext"] * 3
    assert sender.counter == receiver.counter == 3


def test_a_direction_refuses_to_seal_past_its_counter_limit() -> None:
    sender = FrameCipher(b"\x05" * 32, limit=2)
    sender.seal(b"1", b"")
    sender.seal(b"2", b"")
    with pytest.raises(FrameError, match="exhausted"):
        sender.seal(b"3", b"")
    assert sender.counter == 2
    with pytest.raises(ValueError):
        FrameCipher(b"\x05" * 32, limit=COUNTER_LIMIT + 1)


@pytest.mark.asyncio
async def test_an_oversize_payload_uses_no_nonce() -> None:
    sender, receiver = _pair()
    with pytest.raises(FrameError, match="exceeds"):
        sender.seal(Kind.BLOCKS, b"\x00" * (16 * 1024 * 1024))
    assert receiver.open(await _frame(sender.seal(Kind.STATUS, b"\x01"))) == (
        Kind.STATUS,
        b"\x01",
    )


@pytest.mark.asyncio
async def test_a_handshake_gives_each_end_the_others_receive_key_both_ways() -> None:
    mine, theirs = await _handshake(A, B, known={A.address})
    assert isinstance(mine, Session) and isinstance(theirs, Session)
    for sender, receiver in ((mine, theirs), (theirs, mine)):
        for n in range(3):
            frame = await _frame(sender.seal(Kind.CONSENSUS, bytes([n]) * 40))
            assert receiver.open(frame) == (Kind.CONSENSUS, bytes([n]) * 40)
    reflected = await _frame(mine.seal(Kind.STATUS, b"\x01"))
    with pytest.raises(FrameError, match="failed authentication"):
        mine.open(reflected)  # its own frame, sent back to it: the other direction's key


@pytest.mark.asyncio
async def test_two_handshakes_of_the_same_pair_agree_different_keys() -> None:
    first, _ = await _handshake(A, B, known={A.address})
    _, second = await _handshake(A, B, known={A.address})
    assert isinstance(first, Session) and isinstance(second, Session)
    assert first.session_id != second.session_id
    with pytest.raises(FrameError, match="failed authentication"):
        second.open(await _frame(first.seal(Kind.STATUS, b"\x01")))


@pytest.mark.asyncio
async def test_a_relay_that_swaps_the_responders_ephemeral_key_is_caught() -> None:
    """A man in the middle relays every byte but substitutes its own X25519 key."""
    done: asyncio.Future[Session | BaseException] = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            done.set_result(await respond(reader, writer, key=B, chain_id=CHAIN, known={A.address}))
        except Exception as exc:
            done.set_result(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", port)
        up_w.write(pack_raw(await read_raw(client_r)))  # the hello, untouched
        reply = decode_reply(await read_raw(up_r))
        forged = type(reply)(reply.nonce, reply.address, Ephemeral().public, reply.signature)
        client_w.write(pack_raw(encode_reply(forged)))
        await client_w.drain()
        await client_r.read()
        up_w.close()
        client_w.close()

    mitm = await asyncio.start_server(relay, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", mitm.sockets[0].getsockname()[1])
    with pytest.raises(HandshakeRefused, match="did not prove its key"):
        await asyncio.wait_for(
            initiate(reader, writer, key=A, chain_id=CHAIN, expected=B.address), 5
        )
    writer.close()
    assert not isinstance(await asyncio.wait_for(done, 5), Session)
    mitm.close()
    server.close()


@pytest.mark.asyncio
async def test_a_v1_hello_of_the_clear_protocol_is_refused_with_its_own_error() -> None:
    done: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await respond(reader, writer, key=B, chain_id=CHAIN, known={A.address})
            done.set_result(None)
        except Exception as exc:
            done.set_result(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    v1_hello = rlp.encode([HELLO_TAG_V1, CHAIN, b"\x01" * 32, A.address, b""])
    writer.write(pack_raw(v1_hello))
    refused = await asyncio.wait_for(done, 5)
    assert isinstance(refused, LegacyPeer) and "clear p2p protocol v1" in str(refused)
    assert await reader.read() == b""  # nothing sent back, the link closed
    writer.close()
    server.close()
