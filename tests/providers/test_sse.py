"""The stream decoder follows the WHATWG server-sent events rules, however the bytes arrive."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelport.providers.sse import EventTooLarge, ServerSentEvent, SseDecoder


def decode(*pieces: bytes) -> list[ServerSentEvent]:
    decoder = SseDecoder()
    return [event for piece in pieces for event in decoder.feed(piece)]


def test_data_lines_of_one_event_are_joined_with_a_line_feed() -> None:
    assert decode(b'data: {\ndata: "a": 1}\n\n') == [ServerSentEvent("", b'{\n"a": 1}')]


def test_event_id_and_retry_fields_are_read() -> None:
    [event] = decode(b"event: message_start\nid: 7\nretry: 1500\ndata: {}\n\n")
    assert event == ServerSentEvent("message_start", b"{}", "7", 1500)


def test_fields_may_come_in_any_order_and_without_a_space() -> None:
    [event] = decode(b"data:{}\nevent:delta\n\n")
    assert (event.event, event.data) == ("delta", b"{}")


def test_comments_and_unknown_fields_are_ignored() -> None:
    assert decode(b": keep-alive\n\nfoo: bar\ndata: x\n: more\n\n") == [ServerSentEvent("", b"x")]


def test_an_event_without_data_is_not_dispatched_and_its_type_does_not_leak() -> None:
    assert decode(b"event: ping\n\ndata: x\n\n") == [ServerSentEvent("", b"x")]


def test_an_empty_data_line_dispatches_an_empty_event() -> None:
    assert decode(b"data:\n\n") == [ServerSentEvent("", b"")]


def test_crlf_cr_and_lf_all_end_lines() -> None:
    for ending in (b"\r\n", b"\r", b"\n"):
        stream = b"event: a" + ending + b"data: 1" + ending + ending + b"data: 2" + ending * 2
        assert decode(stream) == [ServerSentEvent("a", b"1"), ServerSentEvent("", b"2")]


def test_a_crlf_split_across_reads_is_one_line_ending() -> None:
    assert decode(b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n") == [
        ServerSentEvent("", b"1"),
        ServerSentEvent("", b"2"),
    ]


def test_a_lone_cr_at_the_end_of_a_read_ends_its_line() -> None:
    assert decode(b"data: 1\r", b"\r") == [ServerSentEvent("", b"1")]


def test_a_leading_byte_order_mark_is_dropped_once() -> None:
    bom = b"\xef\xbb\xbf"
    assert decode(bom[:1], bom[1:] + b"data: x\n\n") == [ServerSentEvent("", b"x")]


def test_an_id_with_a_nul_is_ignored() -> None:
    [event] = decode(b"id: a\x00b\ndata: x\n\n")
    assert event.id is None


def test_an_event_the_stream_ends_in_is_discarded() -> None:
    assert decode(b"data: 1\n\ndata: 2\n") == [ServerSentEvent("", b"1")]


STREAMS = [
    b'event: message_start\ndata: {"a":1}\n\nevent: ping\ndata: {}\n\n',
    b"id: 1\r\nretry: 10\r\ndata: {\r\ndata: }\r\n\r\n: c\r\ndata: [DONE]\r\n\r\n",
    b"data: one\r\rdata: two\r\r",
]


@settings(max_examples=200, deadline=None)
@given(stream=st.sampled_from(STREAMS), cuts=st.lists(st.integers(0, 200), max_size=8))
def test_any_split_into_reads_gives_the_same_events(stream: bytes, cuts: list[int]) -> None:
    positions = sorted({min(cut, len(stream)) for cut in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *positions], [*positions, len(stream)], strict=True)]
    assert decode(*pieces) == decode(stream)


def test_a_stream_read_a_byte_at_a_time_gives_the_same_events() -> None:
    for stream in STREAMS:
        assert decode(*(stream[i : i + 1] for i in range(len(stream)))) == decode(stream)


@pytest.mark.parametrize(
    "pieces",
    [
        [b"data: " + b"a" * 60, b"b" * 60],  # one line that does not end
        [b"data: " + b"a" * 60 + b"\n", b"data: " + b"b" * 60 + b"\n"],  # lines of one event
    ],
)
def test_an_event_past_the_cap_is_refused(pieces: list[bytes]) -> None:
    decoder = SseDecoder(max_event=100)
    decoder.feed(pieces[0])
    with pytest.raises(EventTooLarge):
        decoder.feed(pieces[1])


def test_the_cap_is_per_event() -> None:
    decoder = SseDecoder(max_event=100)
    events = [e for _ in range(10) for e in decoder.feed(b"data: " + b"c" * 90 + b"\n\n")]
    assert len(events) == 10
