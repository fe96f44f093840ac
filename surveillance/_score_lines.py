"""Score observation sets given as JSON lines, in chunks on the batch path (`surveillance score`,
CONTRACT §7): results out in order, each bad line's reason to the error stream."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

import msgspec

from scoring import ChartSet, InvalidObservation, ScoreRequest, ScoreResult, score_batch

CHUNK = 4096


def score_lines(lines: Iterable[bytes], charts: ChartSet, out: BinaryIO, err: TextIO) -> int:
    """Score each line; write results to `out` in order and each bad line's reason to `err`.

    Returns the number of bad lines. Blank lines carry nothing and are passed over.
    """
    bad = 0
    for chunk in _chunks(enumerate(lines, start=1)):
        requests: list[ScoreRequest] = []
        decoded: list[tuple[int, str | None]] = []  # (line number, decode error or None)
        for number, line in chunk:
            if not line.strip():
                continue
            try:
                requests.append(_decoder.decode(line))
                decoded.append((number, None))
            except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
                decoded.append((number, f"invalid: {exc}"))
        results = iter(score_batch([(r, r.context) for r in requests], charts))
        for number, decode_error in decoded:
            result = next(results) if decode_error is None else None
            error = (
                f"{result.code}: {result}"
                if isinstance(result, InvalidObservation)
                else decode_error
            )
            if error is not None:
                err.write(f"line {number}: {error}\n")
                bad += 1
            elif isinstance(result, ScoreResult):
                out.write(encode(result) + b"\n")
    return bad


def encode(result: ScoreResult) -> bytes:
    """A score result as contract JSON."""
    return _encoder.encode(result)


_decoder = msgspec.json.Decoder(ScoreRequest)
_encoder = msgspec.json.Encoder()


def _chunks(numbered: Iterable[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for item in numbered:
        chunk.append(item)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
