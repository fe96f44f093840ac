"""The tight ER7 reader (`ingest._er7`) against python-hl7, on generated ORU^R01 messages.

Two properties: every leaf the reader gives is python-hl7's (or it declines, and python-hl7
reads the message), and the whole ingest of a message (`parse_hl7`) is the same on either
path: the same observation set and `ignored`, or the same refusal (error, reason, msg_id).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest import _er7, _hl7
from ingest._codes import MDC, MDC_ALSO, UCUM
from ingest._native import Refusal
from tests.ingest.test_hl7 import PCD01

LONDON = ZoneInfo("Europe/London")
WARD, BED = "7A", "12"
PUNCTUATION = "|^~\\&#!*$%@=:;?/,_'\"`<>{}()[]"
"""Delimiters to draw from: not `+ - .`, which the times and numbers hold (the odd messages
use them)."""
CODES = sorted({m.code for m in MDC.values()} | {m.code for a in MDC_ALSO.values() for m in a})
UNITS = sorted(
    {m.unit_code for m in MDC.values()}
    | {u.code for u in UCUM.values()}
    | {"{beats}/min", "/min^/min^UCUM", "%^%^UCUM", "mm[Hg]", "Cel", "kPa", ""}
)


@st.composite
def delimiters(draw: st.DrawFn) -> tuple[str, str]:
    """MSH-1 and MSH-2: mostly five different characters, sometimes short, repeated or odd
    (which python-hl7 reads its own way, and the reader must decline)."""
    kind = draw(st.sampled_from(["standard", "standard", "shuffled", "short", "odd"]))
    if kind == "standard":
        return "|", "^~\\&" + draw(st.sampled_from(["", "", "#"]))
    if kind == "shuffled":
        chars = draw(st.permutations(PUNCTUATION))
        return chars[0], "".join(chars[1:5])
    field = draw(st.sampled_from(PUNCTUATION))
    if kind == "short":
        rest = [c for c in "^~\\&#" if c != field]
        return field, "".join(rest[: draw(st.integers(0, 3))])
    alphabet = PUNCTUATION + "aMSH1+-. \t"
    encoding = draw(st.text(alphabet.replace(field, ""), min_size=0, max_size=6))
    return draw(st.sampled_from([field, "M", " ", "S"])), encoding


class Delims:
    def __init__(self, field: str, encoding: str) -> None:
        self.field = field
        self.encoding = encoding
        seps, self.esc = _er7.delimiters("MSH" + field + encoding + field)
        self.rep, self.comp, self.sub = seps[2], seps[3], seps[4]


UNIT_OF = {
    code: (mdc.unit_code, UCUM[key].code, f"{UCUM[key].code}^^UCUM")
    for code, (key, mdc, _) in _hl7._BY_MDC.items()
}


def tokens(d: Delims) -> list[str]:
    """Pieces of field text: plain, the delimiters, escape sequences (known, hex, formatting,
    broken) and junk."""
    e = d.esc
    return [
        "A",
        "P001",
        "7A",
        "12",
        " ",
        "98.5",
        "É☃",
        d.rep,
        d.comp,
        d.comp,
        d.sub,
        e,
        f"{e}F{e}",
        f"{e}S{e}",
        f"{e}T{e}",
        f"{e}R{e}",
        f"{e}E{e}",
        f"{e}X41{e}",
        f"{e}XC3A9{e}",
        f"{e}XZZ{e}",
        f"{e}X{e}",
        f"{e}.br{e}",
        f"{e}H{e}",
        "|",
        "^",
        "#",
    ]


def field(d: Delims) -> st.SearchStrategy[str]:
    """A field: repetitions, components and sub-components of text and escapes, often empty."""
    return st.lists(st.sampled_from(tokens(d)), max_size=7).map("".join)


def dtm() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                "20261122093000+0000",
                "20261122093000",
                "202611220930",
                "20261122092840+0100",
                "20261025013000",
                "99991231235959+0000",
                "19000101000000",
                "20261122",
                "2026112209300",
                "20261322093000",
                "20261122093000+0099",
                "20261122093000.1234+0000",
                "",
            ]
        ),
        st.text("0123456789+-.", max_size=20),
    )


@st.composite
def oru(draw: st.DrawFn) -> bytes:
    """An ORU^R01 in the generated delimiters, with odd segments and line ends."""
    field_sep, encoding = draw(delimiters())
    d = Delims(field_sep, encoding)

    any_field = field(d)

    def f() -> str:
        return draw(any_field)

    clean = draw(st.booleans())  # a message meant to be read: only its OBX vary

    def pick(valid: str, *others: str) -> str:
        return valid if clean else draw(st.sampled_from([valid, valid, *others]))

    def segment(name: str, fields: dict[int, str], size: int) -> str:
        out = [name] + [fields.get(n, "") for n in range(1, size)]
        for n in draw(st.lists(st.integers(1, size - 1), max_size=2)):
            if not clean or n not in fields:
                out[n] = f()
        return field_sep.join(out)

    kind = pick("ORU^R01", "ORU^R01^ORU_R01", "ADT^A01", "", "ORU")
    msh = [
        "MSH" + field_sep + encoding,
        f(),
        f(),
        f(),
        f(),
        pick("20261122093000+0000") if clean else draw(dtm()),
        "",
        kind.replace("^", d.comp),
        pick("MSG1", "M\\E\\2", "", "ID" + d.esc + "F" + d.esc + "9") or f(),
        pick("P", "T", "D", "", "P" + d.comp + "T"),
        "2.6",
    ]
    segments = [field_sep.join(msh)]
    patient = pick("P001", "P002", "", " ")
    pid3 = d.comp.join([patient, f()]) if clean or draw(st.integers(0, 5)) else f()
    segments.append(segment("PID", {3: pid3 + pick("", d.rep + "X")}, 6))
    if draw(st.integers(0, 3)):
        bed_field = d.comp.join([pick(WARD, "7B", ""), "" if clean else f(), pick(BED, "13", "")])
        segments.append(segment("PV1", {3: bed_field}, 4))
    if draw(st.booleans()):
        segments.append(segment("OBR", {7: "20261122092900" if clean else draw(dtm())}, 8))
    for n in range(draw(st.integers(0, 6))):
        code = draw(st.sampled_from(CODES if clean else [*CODES, "150023", "", "1504\\X35\\6"]))
        obx = {
            1: str(n + 1),
            2: draw(st.sampled_from(["NM"] * 6 + ["ST", "", "NM" + d.comp + "X"])),
            3: d.comp.join([code, f(), draw(st.sampled_from(["MDC", "", "LN"]))]),
            5: draw(st.sampled_from(["98", "60", "-100", "0", "36.1", "1e2", "", "+7", ".5", "9 "]))
            + draw(st.sampled_from(["", "", d.comp + "x", d.rep + "1"])),
            6: draw(st.sampled_from([*UNIT_OF.get(code, ())] * 4 + UNITS)).replace("^", d.comp),
            8: draw(st.sampled_from([""] * 4 + ["DEMO", "H", "H" + d.rep + "DEMO", "DEMONSTRATE"])),
            11: draw(
                st.sampled_from(["F"] * 4 + ["C", "R", "P", "X", "D", "W", "", "Q", "F" + d.comp])
            ),
            14: draw(dtm()),
        }
        if clean:  # a reading, with at most one of its fields drawn as above
            key = _hl7._BY_MDC[code][0] if code in _hl7._BY_MDC else ""
            valid = {
                2: "NM",
                3: code,
                5: {"temperature": "36.5", "spo2": "97"}.get(key, "60"),
                6: UNIT_OF.get(code, ("",))[0],
                8: "",
                11: "F",
                14: "20261122093000+0000",
            }
            kept = draw(st.sampled_from([0, 0, 0, 2, 3, 5, 6, 8, 11, 14]))
            obx = {**obx, **{n: v for n, v in valid.items() if n != kept}}
        segments.append(segment("OBX", obx, draw(st.integers(12, 16))))
    for _ in range(draw(st.integers(0, 2))):  # odd segments, anywhere
        odd = draw(
            st.sampled_from(["NTE", "ZXX", "OBX"])
            if clean
            else st.one_of(
                st.sampled_from(["NTE", "ZXX", "OBX", "PID", "PV1", "MSH", "BHS", "FHS", "MSHX"]),
                st.text(PUNCTUATION + "ABC ", min_size=1, max_size=6),
            )
        )
        line = odd + field_sep + f() + field_sep + f() if draw(st.booleans()) else odd
        segments.insert(draw(st.integers(1, len(segments))), line)
    ends = draw(st.lists(st.sampled_from(["\r", "\n", "\r\n", "\r\r", "\r \r"]), min_size=1))
    text = "".join(s + ends[n % len(ends)] for n, s in enumerate(segments))
    if draw(st.booleans()):
        text = "\x0b" + text + "\x1c\r"
    return text.encode("utf-8")


def outcome(parse: object, payload: bytes) -> object:
    assert callable(parse)
    at = datetime(2026, 11, 22, 9, 31, tzinfo=UTC)
    try:
        return parse(payload, WARD, BED, LONDON, not_after=at)
    except Refusal as refusal:
        return ("refused", refusal.error, refusal.reason, refusal.msg_id)


def lines_of(payload: bytes) -> list[str]:
    text = payload.decode("utf-8").strip().removeprefix("\x0b").removesuffix("\x1c").strip()
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    return [line for line in lines if line.strip()]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(oru())
@example(PCD01)
def test_every_leaf_is_python_hl7s(payload: bytes) -> None:
    lines = lines_of(payload)
    if len(lines[0]) < 8:
        return
    read = _er7.read(lines)
    if read is None:
        return  # python-hl7 reads it (the next test checks the whole answer is the same)
    tree = hl7.parse("\r".join(lines))
    assert (read.separators, read.esc) == (tree.separators, tree.esc)
    assert len(read.segments) == len(tree)
    for mine, theirs in zip(read.segments, tree, strict=True):
        assert mine.name == _hl7._leaf(theirs, 0)
        assert len(mine) == len(theirs)
        for index in range(len(theirs) + 2):
            if index < len(theirs):
                assert mine.text(index) == str(theirs[index])
            for repetition in range(3):
                for component in range(4):
                    expected = _hl7._leaf(theirs, index, repetition, component)
                    assert mine.leaf(index, repetition, component) == expected, (
                        index,
                        repetition,
                        component,
                    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(oru())
@example(PCD01)
@example(b"MSH\rPID|||P1\rOBX|1|NM|150456^^MDC||97|262688|||||F|||20261122093000+0000")
@example(b"MSH|\rPID|||P1")
@example(b"MSH|^~\\&\rPID|||P1")
@example(b"MSH||||||20261122093000||ORU^R01|M1|P\rPID|||P1")
def test_the_whole_ingest_is_the_same_on_either_path(payload: bytes) -> None:
    assert outcome(_hl7.parse_hl7, payload) == outcome(_hl7._parse_hl7_python_hl7, payload)


def test_generated_messages_reach_both_paths_and_are_often_read() -> None:
    """The generator is not vacuous: it makes messages the reader reads and declines, and
    messages that are read as observations as well as refused."""
    payloads: list[bytes] = []

    @settings(max_examples=200, database=None, derandomize=True)
    @given(oru())
    def collect(payload: bytes) -> None:
        payloads.append(payload)

    collect()
    read = [_er7.read(lines_of(p)) is not None for p in payloads if len(lines_of(p)[0]) >= 8]
    results = [outcome(_hl7.parse_hl7, p) for p in payloads]
    assert 0.3 < sum(read) / len(read) < 0.98
    assert sum(not isinstance(r, tuple) for r in results) >= 10
    assert len({r[1] for r in results if isinstance(r, tuple)}) >= 4


@pytest.mark.parametrize(
    ("header", "reads"),
    [
        ("MSH|^~\\&|A", True),
        ("MSH|^~\\&#|A", True),  # v2.7's truncation character: not a delimiter
        ("MSH||A", True),  # MSH-2 empty: the default delimiters
        ("MSH|^~\\&", False),  # no field delimiter after MSH-2
        ("MSH", False),  # no MSH-1
        ("MSH|", False),
        ("MSH|^^\\&|A", False),  # component and repetition alike
        ("MSH|^~\\||A", True),  # "|" after the escape ends MSH-2: a short one
    ],
)
def test_the_reader_declines_what_python_hl7_reads_its_own_way(header: str, reads: bool) -> None:
    assert (_er7.read([header, "PID|||P1"]) is not None) is reads


def test_a_later_header_segment_is_left_to_python_hl7() -> None:
    assert _er7.read(["MSH|^~\\&|A", "BHS|x"]) is None
    assert _er7.read(["MSH|^~\\&|A", "MSHx|y"]) is None
