"""A tight reader of HL7 v2 ER7 text: segments split into their fields on the delimiters MSH-1
and MSH-2 declare, each field kept as text and split further only when it is read.

python-hl7's `hl7.parse` builds an object for every field, repetition and component of the
whole message: about 0.45 ms of the 0.5 ms a monitor's ORU^R01 took to ingest (`bench/ingest`),
of which ingest reads a dozen leaves. This gives the same leaves (`Segment.leaf` is
python-hl7's tree read at a 0-based path; a Hypothesis test compares the two on generated
messages) in about 11 µs, some 40 times less. Pure: no I/O.

A message whose delimiters python-hl7 reads in its own odd way is not read here (`read`
gives None) and the caller falls back to python-hl7, so the answer is the same whatever the
message: the segment, field, repetition, component and sub-component delimiters not all
different (python-hl7 then splits on the wrong one or fails an assertion), an MSH without a
field delimiter after MSH-2 (or without MSH-1: a first line of just `MSH`), or a later segment
named MSH, BHS or FHS (python-hl7 reads each as a header with its own delimiters).
"""

from __future__ import annotations

from typing import Final

_HEADERS: Final = ("MSH", "BHS", "FHS")
"""Segments python-hl7 splits as headers (MSH-1 and MSH-2 kept whole)."""


class Segment:
    """One segment: its fields as text, index 0 the segment id, as python-hl7 numbers them."""

    __slots__ = ("comp", "fields", "name", "rep", "sub")

    def __init__(self, fields: list[str], rep: str, comp: str, sub: str) -> None:
        self.fields = fields
        self.rep = rep
        self.comp = comp
        self.sub = sub
        self.name = self.leaf(0)
        """The segment id as python-hl7 reads it: field 0's first leaf."""

    def __len__(self) -> int:
        return len(self.fields)

    def text(self, index: int) -> str:
        """A field's whole text (every repetition and component), "" when absent."""
        fields = self.fields
        return fields[index] if index < len(fields) else ""

    def leaf(self, index: int, repetition: int = 0, component: int = 0) -> str:
        """The first sub-component of a field's repetition's component (0-based), "" when
        absent: python-hl7's `message[segment][index][repetition][component]...[0]`."""
        fields = self.fields
        if index >= len(fields):
            return ""
        text = fields[index]
        if repetition:
            parts = text.split(self.rep)
            if repetition >= len(parts):
                return ""
            text = parts[repetition]
        elif (cut := text.find(self.rep)) >= 0:
            text = text[:cut]
        if component:
            parts = text.split(self.comp)
            if component >= len(parts):
                return ""
            text = parts[component]
        elif (cut := text.find(self.comp)) >= 0:
            text = text[:cut]
        if (cut := text.find(self.sub)) >= 0:
            text = text[:cut]
        return text


class Header(Segment):
    """The MSH: its id, MSH-1 (the field delimiter) and MSH-2 (the encoding characters) are
    whole text, never split, as python-hl7 keeps them."""

    __slots__ = ()

    def leaf(self, index: int, repetition: int = 0, component: int = 0) -> str:
        if index < 3:
            return "" if repetition or component else self.fields[index]
        return Segment.leaf(self, index, repetition, component)


class Er7:
    """A message read: its segments in order, and its delimiters as python-hl7 gives them."""

    __slots__ = ("esc", "segments", "separators")

    def __init__(self, segments: list[Segment], separators: str, esc: str) -> None:
        self.segments = segments
        self.separators = separators
        """Segment, field, repetition, component and sub-component delimiters, in that order
        (python-hl7's `Message.separators`)."""
        self.esc = esc


def delimiters(header: str) -> tuple[str, str]:
    """python-hl7's `separators` and `esc` for a message starting with `header` (`MSH` then
    MSH-1, MSH-2 ...): MSH-2's characters in the order component, repetition, escape,
    sub-component, each defaulting to `^ ~ \\ &` when MSH-2 is short."""
    field = header[3]
    seps = header[3 : header.find(field, 4)]
    rep = seps[2] if len(seps) > 2 else "~"
    comp = seps[1] if len(seps) > 1 else "^"
    sub = seps[4] if len(seps) > 4 else "&"
    esc = seps[3] if len(seps) > 3 else "\\"
    return "\r" + field + rep + comp + sub, esc


def read(lines: list[str]) -> Er7 | None:
    """The message whose segments are `lines` (the first an MSH, none empty), or None when
    python-hl7 must read it (see the module's doc)."""
    head = lines[0]
    if len(head) < 5:  # "MSH", MSH-1 and one more character at least
        return None
    field = head[3]
    end = head.find(field, 4)
    if end < 0:
        return None
    separators, esc = delimiters(head)
    rep, comp, sub = separators[2], separators[3], separators[4]
    if len(set(separators)) != len(separators):
        return None
    rest = head[end + 1 :]
    segments: list[Segment] = [
        Header(["MSH", field, head[4:end], *(rest.split(field) if rest else ())], rep, comp, sub)
    ]
    append = segments.append
    for line in lines[1:]:
        if line[:3] in _HEADERS:
            return None
        append(Segment(line.split(field), rep, comp, sub))
    return Er7(segments, separators, esc)
