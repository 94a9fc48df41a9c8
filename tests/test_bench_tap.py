"""The bench's relay reads the websocket's frames as they pass (RFC 6455), so that the server's
response time can be told apart from the browsers' drawing (issue 19, item 7)."""

import os

from emergency.bench_browser import FrameReader, StreamTap, client_frame


def frame(payload: bytes, *, opcode: int = 2, mask: bytes = b"") -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, (0x80 if mask else 0) | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, (0x80 if mask else 0) | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, (0x80 if mask else 0) | 127]) + n.to_bytes(8, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if mask else payload
    return head + mask + body


def test_frames_are_read_whole_across_reads_of_any_size_masked_or_not():
    small, middle, large = b"a" * 5, os.urandom(300), os.urandom(70_000)
    stream = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    stream += frame(small) + frame(b"text", opcode=1) + frame(middle, mask=b"\x01\x02\x03\x04") + frame(large)
    stream += frame(b"", opcode=9)  # a ping
    for step in (1, 7, 4096, len(stream)):
        got: list[bytes] = []
        reader = FrameReader(got.append, skip_head=True)
        for at in range(0, len(stream), step):
            reader.feed(stream[at : at + step])
        assert got == [small, middle, large], step  # binary messages only, unmasked, in order
        assert reader.buffer == b""


def test_response_time_runs_from_the_first_ask_after_the_click_to_the_last_answer_drawn():
    tap = StreamTap(1)
    tap.asked = [1.0, 5.2, 5.9]
    tap.answered = [1.5, 5.6, 6.4, 9.0]
    assert tap.response_time(5.0, 7.0) == 6.4 - 5.2  # a page that reran itself once: both runs
    assert tap.response_time(0.5, 1.6) == 0.5
    assert tap.response_time(10.0, 11.0) == 0.0  # nothing seen: no time is made up


def test_a_wire_sessions_frames_are_masked_and_read_back_whole():
    for payload in (b"", b"x", os.urandom(125), os.urandom(126), os.urandom(70_000)):
        framed = client_frame(payload)
        assert framed[0] == 0x82 and framed[1] & 0x80  # a final binary frame, masked (RFC 6455 5.3)
        got: list[bytes] = []
        FrameReader(got.append, skip_head=False).feed(framed)
        assert got == [payload]


def test_a_ping_is_handed_on_for_its_pong():
    pings: list[bytes] = []
    FrameReader(lambda _: None, skip_head=False, on_ping=pings.append).feed(frame(b"abc", opcode=9))
    assert pings == [b"abc"]
