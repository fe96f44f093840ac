"""MLLP framing and HL7 v2 acknowledgements, pure: bytes in, frames and ACK bytes out.

MLLP (HL7 v2 "Minimal Lower Layer Protocol", release 2) frames a message as
`<VT> message <FS><CR>` (0x0b ... 0x1c 0x0d). `Framer` cuts a byte stream into frames with a
bounded buffer whatever the peer sends:

- bytes outside a frame (before a `<VT>`) are counted as `Junk`, never buffered;
- a frame longer than `max_bytes` is `Oversize`: only its first `HEAD` bytes are kept (to
  read its MSH for the answer) and the rest are counted and dropped up to its `<FS>`;
- a `<VT>` inside a frame (the sender gave up on a frame and started again) ends the frame
  before it as `Broken` and starts a new one;
- `<FS>` not followed by `<CR>` still ends the frame (some senders omit the `<CR>`; the
  byte after it is then read as outside a frame).

`peek_header` reads what an answer needs from an MSH segment without python-hl7 (a frame too
broken to parse still gets an ACK naming its control id when one can be read), and `ack`
builds the acknowledgement (HL7 v2.5 chapter 2: MSH, MSA with MSA-3 text, and ERR with the
error code and the same text for v2.5 readers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

START: Final = 0x0B
"""`<VT>`, start of a block."""
END: Final = 0x1C
"""`<FS>`, end of a block (then `<CR>`)."""
CR: Final = 0x0D
HEAD: Final = 4096
"""Bytes of an oversize or broken frame kept, to read its MSH and fill its dead letter."""

AckCode = Literal["AA", "AE", "AR"]
"""HL7 table 0008 (original mode): accepted, error (send again later), rejected (do not send
that message again as it is)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """A whole message, without its framing bytes."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class Oversize:
    """A frame longer than the limit: its first `HEAD` bytes and its whole size."""

    head: bytes
    size: int


@dataclass(frozen=True, slots=True)
class Broken:
    """A frame cut off by the start of another (no `<FS>`): its first bytes and its size."""

    head: bytes
    size: int


@dataclass(frozen=True, slots=True)
class Junk:
    """Bytes outside any frame, counted (never kept)."""

    size: int


Event = Frame | Oversize | Broken | Junk


class Framer:
    """A byte stream in, MLLP events out; memory bounded by `max_bytes` (+ `HEAD`).

    Use: `for event in framer.feed(chunk): ...`; at the end of the stream `pending` says how
    many bytes of an unfinished frame were left (a partial frame, then a disconnect).
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            msg = f"max_bytes must be at least 1, not {max_bytes}"
            raise ValueError(msg)
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._inside = False
        self._size = 0  # bytes of the current frame, kept or not
        self._over = False
        self._after_end = False  # the byte before was <FS>: a <CR> here belongs to it

    @property
    def pending(self) -> int:
        """Bytes of the frame under way (0 when between frames)."""
        return self._size if self._inside else 0

    def feed(self, data: bytes) -> list[Event]:
        """The events completed by `data` (in order)."""
        events: list[Event] = []
        junk = 0
        i, n = 0, len(data)
        while i < n:
            if not self._inside:
                if self._after_end:
                    self._after_end = False
                    if data[i] == CR:
                        i += 1
                        continue
                start = data.find(START, i)
                if start < 0:
                    junk += n - i
                    break
                junk += start - i
                if junk:
                    events.append(Junk(junk))
                    junk = 0
                self._begin()
                i = start + 1
                continue
            # Inside a frame: up to the next <FS> or <VT>, whichever comes first.
            end = data.find(END, i)
            restart = data.find(START, i, end if end >= 0 else n)
            stop = restart if restart >= 0 else end
            chunk = data[i : stop if stop >= 0 else n]
            self._take(chunk)
            if stop < 0:
                break
            if stop == restart:
                events.append(Broken(bytes(self._buffer[:HEAD]), self._size))
                self._begin()
                i = restart + 1
                continue
            events.append(self._finish())
            self._after_end = True
            i = end + 1
        if junk:
            events.append(Junk(junk))
        return events

    def _begin(self) -> None:
        self._inside, self._size, self._over = True, 0, False
        self._buffer.clear()

    def _take(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._over:
            return
        if self._size > self.max_bytes:
            self._over = True
            room = HEAD - len(self._buffer)
            if room > 0:
                self._buffer += chunk[:room]
            del self._buffer[HEAD:]
            return
        self._buffer += chunk

    def _finish(self) -> Event:
        self._inside = False
        if self._over:
            event: Event = Oversize(bytes(self._buffer[:HEAD]), self._size)
        else:
            event = Frame(bytes(self._buffer))
        self._buffer.clear()
        return event


def frame(message: bytes) -> bytes:
    """`message` framed for MLLP."""
    return bytes([START]) + message + bytes([END, CR])


@dataclass(frozen=True, slots=True)
class Header:
    """What an acknowledgement needs from the message's MSH (text as sent, unescaped)."""

    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    message_type: str = ""
    trigger: str = ""
    control_id: str = ""
    processing_id: str = ""
    version: str = ""


def peek_header(payload: bytes) -> Header | None:
    """The MSH fields of a message, read leniently (any encoding, any segment ending); None
    when the payload does not start with an MSH segment and its field separator."""
    text = payload.decode("utf-8", "replace").lstrip("\r\n\x0b \t")
    if not text.startswith("MSH") or len(text) < 8:
        return None
    field = text[3]
    if field.isalnum() or field in "\r\n":
        return None
    component = text[4]
    line = text.replace("\r\n", "\r").replace("\n", "\r").split("\r", 1)[0]
    fields = line.split(field)
    # fields[0] is "MSH"; MSH-1 is the separator itself, so MSH-n is fields[n - 1].

    def get(n: int) -> str:
        value = fields[n - 1] if len(fields) >= n else ""
        return value.split(component, 1)[0] if n != 2 else value

    kind = fields[8].split(component) if len(fields) > 8 else []  # MSH-9
    return Header(
        sending_application=get(3),
        sending_facility=get(4),
        receiving_application=get(5),
        receiving_facility=get(6),
        message_type=kind[0] if kind else "",
        trigger=kind[1] if len(kind) > 1 else "",
        control_id=fields[9] if len(fields) > 9 else "",
        processing_id=get(11),
        version=get(12),
    )


_ESCAPES: Final = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("~", "\\R\\"), ("&", "\\T\\"))


def escape(text: str) -> str:
    """Text for a field of a message with the standard delimiters `|^~\\&` (HL7 escapes;
    line breaks and other control characters become spaces)."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


ERROR_TEXT_MAX: Final = 500
"""Characters of a reason given in MSA-3 and ERR-8 (a reason may quote the input)."""

HL7_ERRORS: Final = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "206": "Application record locked",
    "207": "Application internal error",
}
"""HL7 table 0357, message error condition codes: the ones an answer here may carry."""

_BY_ERROR: Final = {
    "not-hl7": "200",
    "invalid": "102",
    "placement": "103",
    "oversize": "100",
    "not-utf8": "102",
    "test-data": "207",
    "conflict": "206",
}


def hl7_error(error: str | None) -> str:
    """The HL7 table 0357 code for one of our error codes (207 for anything else)."""
    return _BY_ERROR.get(error or "", "207")


def ack(
    header: Header | None,
    code: AckCode,
    text: str,
    *,
    control_id: str,
    now: datetime,
    error: str | None = None,
) -> bytes:
    """An HL7 v2 acknowledgement (`ACK^{trigger}^ACK`) of the message whose MSH is `header`
    (None: unreadable; MSA-2 is then empty).

    MSH-3/4 and 5/6 are the message's receiving and sending application and facility swapped;
    MSH-7 is `now` (with its offset); MSH-10 is `control_id` (the ACK's own); MSH-11 and
    MSH-12 repeat the message's (P and 2.5 when unknown). MSA-3 carries `text` (cut at
    `ERROR_TEXT_MAX` characters); for AE and AR an ERR segment repeats it in ERR-8 with the
    HL7 condition code for `error` (`hl7_error`) in ERR-3, with `error` itself as its local
    alternate identifier.
    """
    h = header or Header()
    text = escape(text[:ERROR_TEXT_MAX])  # cut before escaping: never half an escape
    stamp = now.strftime("%Y%m%d%H%M%S%z")
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            escape(h.receiving_application),
            escape(h.receiving_facility),
            escape(h.sending_application),
            escape(h.sending_facility),
            stamp,
            "",
            f"ACK^{escape(h.trigger)}^ACK" if h.trigger else "ACK",
            escape(control_id),
            escape(h.processing_id) or "P",
            escape(h.version) or "2.5",
        ]
    )
    segments = [msh, f"MSA|{code}|{escape(h.control_id)}|{text}"]
    if code != "AA":
        number = hl7_error(error)
        reason = f"{number}^{HL7_ERRORS[number]}^HL70357"
        if error:
            reason += f"^{escape(error)}^^L"  # our code as the local alternate identifier
        segments.append(f"ERR|||{reason}|E||||{text}")
    return ("\r".join(segments) + "\r").encode("utf-8")
