"""The benchmark client's own WebSocket codec (``bench.wsclient._Plain``): it must read
whatever framing and chunking a server may send, and write frames a server accepts. What a
real hub makes of it is covered by the smoke runs in test_bench.py."""

from __future__ import annotations

import base64
import hashlib
import struct

from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from bench import wsclient
from bench.wsclient import _Plain

ACCEPT = base64.b64encode(hashlib.sha1(wsclient._KEY + wsclient._GUID).digest())
RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT + b"\r\n\r\n")


def server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A frame as a server writes it: unmasked."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", first, size) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def feed(codec: _Plain, data: bytes, cuts: list[int]) -> list[str]:
    texts: list[str] = []
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for start, end in zip(points, points[1:], strict=False):
        codec.receive(data[start:end], lambda text, now: texts.append(text), 0)
    return texts


texts_st = st.lists(st.text(max_size=300) | st.just("x" * 70_000), min_size=1, max_size=6)


@given(texts=texts_st, fragmented=st.booleans(),
       cuts=st.lists(st.integers(min_value=0, max_value=200_000), max_size=12))
def test_any_chunking_of_the_response_and_frames_gives_the_same_texts(
        texts: list[str], fragmented: bool, cuts: list[int]) -> None:
    data = RESPONSE
    for text in texts:
        raw = text.encode()
        if fragmented and len(raw) > 1:
            half = len(raw) // 2
            data += server_frame(0x1, raw[:half], fin=False) + server_frame(0x0, raw[half:])
        else:
            data += server_frame(0x1, raw)
        data += server_frame(0x9, b"ping")  # a ping between texts is answered, not shown
    codec = _Plain("127.0.0.1:1", "/ws")
    assert feed(codec, data, cuts) == texts
    assert codec.state is State.OPEN
    assert codec.failure is None


def test_frames_it_writes_are_read_by_websockets_server() -> None:
    codec = _Plain("127.0.0.1:1", "/ws")
    codec.start()
    server = ServerProtocol()
    server.receive_data(b"".join(codec.output()))
    [request] = server.events_received()
    server.send_response(server.accept(request))  # type: ignore[arg-type]
    response = b"".join(server.data_to_send())
    codec.receive(response, lambda text, now: None, 0)
    assert codec.state is State.OPEN and codec.failure is None
    for text in ["hello", "é" * 200, "y" * 70_000]:
        codec.send_text(text.encode())
    codec.receive(server_frame(0x9, b"p"), lambda text, now: None, 0)
    codec.send_close(1000)
    server.receive_data(b"".join(codec.output()))
    frames = [e for e in server.events_received() if isinstance(e, Frame)]
    assert [f.opcode for f in frames] == [Opcode.TEXT] * 3 + [Opcode.PONG, Opcode.CLOSE]
    assert [bytes(f.data).decode() for f in frames[:3]] == ["hello", "é" * 200, "y" * 70_000]
    assert codec.state.name == "CLOSING"


def test_a_refused_handshake_or_wrong_accept_fails_with_its_reason() -> None:
    refused = _Plain("h:1", "/ws")
    refused.receive(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n",
                    lambda text, now: None, 0)
    assert refused.state is State.CLOSED and "403" in str(refused.failure)
    wrong = _Plain("h:1", "/ws")
    wrong.receive(RESPONSE.replace(ACCEPT, base64.b64encode(b"x" * 20)),
                  lambda text, now: None, 0)
    assert wrong.state is State.CLOSED and "accept" in str(wrong.failure)


def test_a_close_from_the_server_is_answered_and_its_code_kept() -> None:
    codec = _Plain("h:1", "/ws")
    codec.receive(RESPONSE + server_frame(0x8, struct.pack("!H", 4401) + b"expired"),
                  lambda text, now: None, 0)
    assert codec.close_code == 4401
    [answer] = codec.output()
    assert answer[0] == 0x88 and answer[1] & 0x80  # a masked close
    assert codec.state is State.CLOSING
