"""What a log may say about an exception: where it was raised, never what it said.

An exception's message may quote the data it choked on (a `KeyError` names the missing key,
which may be a patient id; a database error quotes the row), and logs never carry identifiers
(issue 14). `failure_site` gives the exception's type and the frames it went through (file,
line, function), which is what finding the bug needs; the input that caused it is kept where
patient data belongs (the dead letters and the quarantine, in the store).
"""

from __future__ import annotations

import traceback
from pathlib import Path

_FRAMES = 6
"""How many of the innermost frames are named."""


def failure_site(error: BaseException) -> str:
    """`KeyError raised at scorer.py:572 in _adt ← service.py:290 in _consume ...`, the
    innermost frame first, and the same for its cause or context; no message."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(parts) < 3:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)[-_FRAMES:]
        where = " ← ".join(
            f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
            for frame in reversed(frames)
        )
        parts.append(f"{type(current).__name__} raised at {where or 'an unknown place'}")
        current = current.__cause__ or current.__context__
    return "; from ".join(parts)
