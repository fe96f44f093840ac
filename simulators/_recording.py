"""Recordings: a header line, then one JSON line per message, gzip when the name ends in `.gz`.

Writing is deterministic: the same messages give the same bytes, compressed or not (the gzip
header carries no time stamp and no file name), so a seed pins a recording byte for byte.

    {"recording":"ward-surveillance","version":1,"meta":{...}}
    {"time":"2026-11-22T08:00:00Z","topic":"wards/MED1/beds/1/adt","retain":true,"payload":{...}}
    {"time":"2026-11-22T08:00:05Z","topic":"wards/MED1/beds/1/hl7v2","retain":false,"payload":"MSH|^~\\&|..."}

JSON payloads are embedded as they are (their exact bytes are replayed); text payloads (HL7 v2)
are JSON strings.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

import msgspec

from simulators._messages import Message, parse_time, rfc3339

FORMAT = "ward-surveillance"
VERSION = 1


class RecordingError(ValueError):
    """A file that is not a readable recording; the message names the file and line."""


class _Header(msgspec.Struct, frozen=True):
    recording: Literal["ward-surveillance"]
    version: int
    meta: dict[str, Any] = msgspec.field(default_factory=dict)


class _Line(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    time: str
    topic: str
    payload: msgspec.Raw
    retain: bool = False


@contextmanager
def _open(path: Path, mode: Literal["rb", "wb"]) -> Iterator[IO[bytes]]:
    if path.suffix != ".gz":
        with path.open(mode) as plain:
            yield plain
        return
    with (
        path.open(mode) as raw,
        gzip.GzipFile(filename="", mode=mode, fileobj=raw, compresslevel=6, mtime=0) as gz,
    ):
        yield gz  # type: ignore[misc]  # GzipFile is a binary file object


def write_recording(path: Path, messages: Iterable[Message], meta: dict[str, Any]) -> int:
    """Write `messages` to `path` (gzip if it ends in `.gz`); returns how many were written."""
    encoder = msgspec.json.Encoder()
    count = 0
    with _open(path, "wb") as out:
        out.write(encoder.encode({"recording": FORMAT, "version": VERSION, "meta": meta}) + b"\n")
        chunk: list[bytes] = []
        for message in messages:
            chunk.append(encode_line(message, encoder))
            count += 1
            if len(chunk) == 4096:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))
    return count


def encode_line(message: Message, encoder: msgspec.json.Encoder) -> bytes:
    """One recording line (with its newline) for a message."""
    payload = message.payload
    if not payload.startswith(b"{"):
        payload = encoder.encode(payload.decode("utf-8"))
    head = encoder.encode(
        {"time": rfc3339(message.time), "topic": message.topic, "retain": message.retain}
    )
    return head[:-1] + b',"payload":' + payload + b"}\n"


def read_meta(path: Path) -> dict[str, Any]:
    """The header's `meta` object (seed, wards, hours... as the simulator wrote them)."""
    with _open(path, "rb") as stream:
        return _header(path, stream.readline()).meta


def read_recording(path: Path) -> Iterator[Message]:
    """The messages of a recording, in file order; raises RecordingError on a bad line."""
    decoder = msgspec.json.Decoder(_Line)
    text = msgspec.json.Decoder(str)
    with _open(path, "rb") as stream:
        _header(path, stream.readline())
        for number, line in enumerate(stream, start=2):
            if not line.strip():
                continue
            try:
                record = decoder.decode(line)
                payload = bytes(record.payload)
                if payload.startswith(b'"'):
                    payload = text.decode(payload).encode("utf-8")
                yield Message(parse_time(record.time), record.topic, payload, record.retain)
            except (msgspec.DecodeError, ValueError) as exc:
                msg = f"{path}: line {number}: {exc}"
                raise RecordingError(msg) from exc


def count_messages(path: Path) -> int:
    """How many messages a recording holds (one pass over the file, no decoding)."""
    with _open(path, "rb") as stream:
        _header(path, stream.readline())
        return sum(1 for line in stream if line.strip())


def _header(path: Path, line: bytes) -> _Header:
    try:
        header = msgspec.json.decode(line, type=_Header)
    except msgspec.DecodeError as exc:
        msg = f"{path}: line 1: not a {FORMAT} recording header ({exc})"
        raise RecordingError(msg) from exc
    if header.version != VERSION:
        msg = f"{path}: recording version {header.version}; this build reads version {VERSION}"
        raise RecordingError(msg)
    return header
