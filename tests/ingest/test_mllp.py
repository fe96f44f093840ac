"""MLLP framing (`ingest.Framer`) and HL7 acknowledgements (`ingest.ack`), pure."""

from __future__ import annotations

from datetime import UTC, datetime

import hl7  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import Broken, Frame, Framer, Header, Junk, Oversize, ack, frame, peek_header

VT, FS, CR = b"\x0b", b"\x1c", b"\r"


def events(data: bytes, max_bytes: int = 1000, chunk: int | None = None) -> list[object]:
    framer = Framer(max_bytes)
    out: list[object] = []
    step = chunk or max(len(data), 1)
    for i in range(0, len(data), step):
        out += framer.feed(data[i : i + step])
    return out


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (VT + b"MSH|a" + FS + CR, [Frame(b"MSH|a")]),
        (VT + b"one" + FS + CR + VT + b"two" + FS + CR, [Frame(b"one"), Frame(b"two")]),
        (b"junk" + VT + b"m" + FS + CR, [Junk(4), Frame(b"m")]),
        (VT + b"m" + FS + CR + b"\r\n junk", [Frame(b"m"), Junk(7)]),
        (VT + b"m" + FS + VT + b"n" + FS + CR, [Frame(b"m"), Frame(b"n")]),  # no <CR>
        (VT + b"cut" + VT + b"whole" + FS + CR, [Broken(b"cut", 3), Frame(b"whole")]),
        (VT + b"x" * 11 + FS + CR + VT + b"ok" + FS + CR, [Oversize(b"x" * 11, 11), Frame(b"ok")]),
        (VT + b"partial", []),
        (b"", []),
        (VT + FS + CR, [Frame(b"")]),
    ],
)
def test_framing(data: bytes, expected: list[object]) -> None:
    assert events(data, max_bytes=10) == expected
    assert events(data, max_bytes=10, chunk=1) == _merged(expected)  # a byte at a time


def _merged(expected: list[object]) -> list[object]:
    """Byte by byte, junk comes as one event per read."""
    out: list[object] = []
    for event in expected:
        if isinstance(event, Junk):
            out += [Junk(1)] * event.size
        else:
            out.append(event)
    return out


def test_an_oversize_frame_keeps_only_its_head() -> None:
    framer = Framer(100)
    framer.feed(VT + b"MSH|" + b"x" * 50_000)
    assert len(framer._buffer) <= 4096
    assert framer.pending == 50_004
    [event] = framer.feed(b"y" * 10 + FS + CR)
    assert isinstance(event, Oversize)
    assert event.size == 50_014
    assert event.head.startswith(b"MSH|")
    assert len(event.head) == 4096
    assert framer.pending == 0


def test_a_partial_frame_is_pending() -> None:
    framer = Framer(100)
    assert framer.feed(VT + b"MSH|half") == []
    assert framer.pending == 8


def test_max_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Framer(0)


_BODY = st.binary(max_size=200).map(lambda b: b.replace(VT, b"").replace(FS, b""))


@settings(max_examples=300, deadline=None)
@given(
    messages=st.lists(_BODY, max_size=8),
    gaps=st.lists(_BODY, min_size=9, max_size=9),
    cuts=st.lists(st.integers(min_value=1, max_value=50), max_size=30),
)
def test_any_messages_through_any_chunking_and_junk_come_out_whole(
    messages: list[bytes], gaps: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(gap + frame(m) for gap, m in zip(gaps, messages, strict=False))
    framer = Framer(150)
    out: list[object] = []
    i = 0
    for cut in [*cuts, len(stream)]:
        out += framer.feed(stream[i : i + cut])
        i += cut
        assert len(framer._buffer) <= 4096
    whole = [e for e in out if isinstance(e, Frame | Oversize)]
    assert len(whole) == len(messages)
    for got, sent in zip(whole, messages, strict=True):
        if len(sent) > 150:
            assert got == Oversize(sent[:4096], len(sent))
        else:
            assert got == Frame(sent)
    assert not [e for e in out if isinstance(e, Broken)]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            b"MSH|^~\\&|PAS|TRUST|SURV|HOSP|20261122||ADT^A01^ADT_A01|C1|P|2.5\rPID|||1",
            Header("PAS", "TRUST", "SURV", "HOSP", "ADT", "A01", "C1", "P", "2.5"),
        ),
        (b"\r\nMSH#@~\\&#A#B#####ORU@R01#X9#T", Header("A", "B", "", "", "ORU", "R01", "X9", "T")),
        (b"MSH|^~\\&", Header()),
        (b"PID|1", None),
        (b"MSHabc", None),
        (b"\xff\xfe", None),
    ],
)
def test_peek_header(payload: bytes, expected: Header | None) -> None:
    assert peek_header(payload) == expected


NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
HEADER = Header("PAS", "TRUST", "SURV", "HOSP", "ADT", "A02", "CTRL|9", "P", "2.4")


def test_an_aa_answers_the_message_by_its_control_id() -> None:
    message = hl7.parse(ack(HEADER, "AA", "ok", control_id="ACK1", now=NOW).decode())
    msh, msa = message.segment("MSH"), message.segment("MSA")
    # The receiver answers: applications and facilities swapped.
    assert [str(msh[n]) for n in (3, 4, 5, 6)] == ["SURV", "HOSP", "PAS", "TRUST"]
    assert str(msh[7]) == "20261122093000+0000"
    assert str(msh[9]) == "ACK^A02^ACK"
    assert (str(msh[10]), str(msh[11]), str(msh[12])) == ("ACK1", "P", "2.4")
    assert str(msa[1]) == "AA"
    assert str(msa[2]) == "CTRL\\F\\9"  # escaped, so it reads back as the id sent
    assert str(msa[3]) == "ok"
    assert not [s for s in message if str(s[0]) == "ERR"]


@pytest.mark.parametrize(
    ("code", "error", "condition"),
    [("AR", "placement", "103"), ("AR", "oversize", "100"), ("AE", None, "207")],
)
def test_an_ae_or_ar_says_why_in_msa_3_and_err(
    code: str, error: str | None, condition: str
) -> None:
    why = "PV1-3 'X|Y^Z' is not mapped\r\nsee the map"
    raw = ack(HEADER, code, why, control_id="A", now=NOW, error=error)  # type: ignore[arg-type]
    message = hl7.parse(raw.decode())
    msa, err = message.segment("MSA"), message.segment("ERR")
    assert str(msa[1]) == code
    text = "PV1-3 'X\\F\\Y\\S\\Z' is not mapped  see the map"
    assert str(msa[3]) == text
    assert str(err[8]) == text
    assert str(err[3][0][0]) == condition
    assert str(err[4]) == "E"
    if error:
        assert str(err[3][0][3]) == error


def test_an_unreadable_message_still_gets_an_answer() -> None:
    raw = ack(None, "AR", "not HL7", control_id="A", now=NOW, error="not-hl7")
    message = hl7.parse(raw.decode())
    assert str(message.segment("MSH")[9]) == "ACK"
    assert str(message.segment("MSA")[2]) == ""
    assert str(message.segment("MSH")[12]) == "2.5"


def test_a_long_reason_is_cut() -> None:
    raw = ack(HEADER, "AR", "x" * 5000, control_id="A", now=NOW)
    assert len(raw) < 1500
