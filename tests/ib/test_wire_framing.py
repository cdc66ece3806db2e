"""Prove tests/ib/wire/ framing against ib_async: field formatting, the handshake, frame reading and its errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ib_async import util as ib_util
from ib_async.client import Client

from tests.ib import wire
from tests.ib.wire import (
    SERVER_VERSION,
    UNSET_DOUBLE,
    UNSET_INTEGER,
    FrameReader,
    Handshake,
    WireError,
    frame,
    parse_request,
)
from tests.ib.wire_checks import no_decoder_errors  # noqa: F401  (autouse fixture, applies by being imported)


def test_constants_match_ib_async():
    assert SERVER_VERSION == 176
    assert UNSET_DOUBLE == ib_util.UNSET_DOUBLE
    assert UNSET_INTEGER == ib_util.UNSET_INTEGER
    assert Client.MinClientVersion <= SERVER_VERSION <= Client.MaxClientVersion


def test_frame_field_formatting():
    data = frame(
        [True, False, None, 7, -3, 2.0, -1.23, 0.1 + 0.2, UNSET_DOUBLE, Decimal("1E+2"), "x y"]
    )
    assert data[:4] == len(data[4:]).to_bytes(4, "big")
    assert data[4:].split(b"\0") == [
        b"1",
        b"0",
        b"",
        b"7",
        b"-3",
        b"2",
        b"-1.23",
        b"0.30000000000000004",
        b"1.7976931348623157e+308",
        b"100",
        b"x y",
        b"",
    ]
    assert float("0.30000000000000004") == 0.1 + 0.2
    assert float("1.7976931348623157e+308") == UNSET_DOUBLE


def test_frame_rejects_what_would_desync_the_peer():
    with pytest.raises(WireError):
        frame(["a\0b"])
    with pytest.raises(WireError):
        frame([])
    with pytest.raises(TypeError):
        frame([["nested"]])


def test_frame_reader_handshake_then_frames_any_chunking():
    stream = (
        wire.client_handshake()
        + frame([71, 2, 7, ""])
        + frame([61, 1])
        + frame([1, "", "é"])
    )
    expected = [["API", "v157..178"], ["71", "2", "7", ""], ["61", "1"], ["1", "", "é"]]

    reader = FrameReader()
    assert reader.feed(stream) == expected
    assert reader.buffered == 0

    reader = FrameReader()
    got: list[list[str]] = []
    for i in range(len(stream)):
        got += reader.feed(stream[i : i + 1])
    assert got == expected

    assert parse_request(expected[0]) == Handshake(157, 178, "")
    reader = FrameReader()
    (hello,) = reader.feed(wire.client_handshake(options="+PACEAPI"))
    assert parse_request(hello) == Handshake(157, 178, "+PACEAPI")


def test_frame_reader_reads_server_stream_without_handshake():
    reader = FrameReader()
    data = frame([SERVER_VERSION, "20261125 14:30:00 UTC"]) + frame(wire.next_valid_id(1))
    assert reader.feed(data[:3]) == []
    assert reader.feed(data[3:]) == [["176", "20261125 14:30:00 UTC"], ["9", "1", "1"]]


def test_frame_reader_rejects_garbage():
    with pytest.raises(WireError, match="not NUL-terminated"):
        FrameReader().feed(b"\0\0\0\x03abc")
    with pytest.raises(WireError, match="exceeds"):
        FrameReader().feed(b"\x7f\0\0\0")
    with pytest.raises(WireError, match="UTF-8"):
        FrameReader().feed(b"\0\0\0\x02\xff\0")
