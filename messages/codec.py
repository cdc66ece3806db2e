"""Codecs: JSON for scenario files and humans, msgpack for the journal. Unknown fields and types are rejected."""

from __future__ import annotations

from typing import Any

import msgspec

from messages.base import Message
from messages.catalogue import AnyMessage


class MessageDecodeError(ValueError):
    """A message that does not match the catalogue; the text names the type or field at fault."""


_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder(AnyMessage)
_msgpack_encoder = msgspec.msgpack.Encoder()
_msgpack_decoder = msgspec.msgpack.Decoder(AnyMessage)
_msgpack_list_decoder = msgspec.msgpack.Decoder(list[AnyMessage])


def to_json(message: Message) -> bytes:
    return _json_encoder.encode(message)


def from_json(data: bytes | str) -> Message:
    try:
        return _json_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise MessageDecodeError(str(exc)) from None


def from_builtins(obj: Any) -> Message:
    """Decode an already-parsed JSON object (e.g. one field of a scenario line) into a message."""
    try:
        return msgspec.convert(obj, AnyMessage)
    except msgspec.ValidationError as exc:
        raise MessageDecodeError(str(exc)) from None


def to_msgpack(message: Message) -> bytes:
    return _msgpack_encoder.encode(message)


def from_msgpack(data: bytes) -> Message:
    try:
        return _msgpack_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise MessageDecodeError(str(exc)) from None


def from_msgpack_many(count: int, concatenated: bytes | memoryview) -> list[Message]:
    """`count` msgpack-encoded messages laid end to end (as a journal's payload column stores them), decoded in one
    call: prefixed with a msgpack array header they are one array."""
    header = b"\xdd" + count.to_bytes(4, "big")
    try:
        return _msgpack_list_decoder.decode(header + bytes(concatenated))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise MessageDecodeError(str(exc)) from None


def to_msgpack_list(messages: list[Message]) -> bytes:
    """A batch as one msgpack array, encoded in one call (a group commit handed to another process)."""
    return _msgpack_encoder.encode(messages)


def from_msgpack_list(data: bytes) -> list[Message]:
    try:
        return _msgpack_list_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise MessageDecodeError(str(exc)) from None
