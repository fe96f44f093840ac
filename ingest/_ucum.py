"""UCUM units compared by meaning, not by text: the few units the vital signs come in.

No maintained UCUM library is published for Python (the full grammar and its conversions exist
for Java, .NET and JavaScript; PyPI has none that is kept up), so this is a small normaliser
for the units ingest reads, tested on every spelling below. It never converts: a value in
`[degF]` or `kPa` is still refused (CONTRACT: units are never converted); it only recognises
two spellings of one unit as one unit.

The rules, from The Unified Code for Units of Measure (Schadow & McDonald, Regenstrief):

- §2.4 (curly braces): an annotation `{...}` "has no effect on the unit's meaning"; a term
  that is only an annotation stands for the unity `1`. So `{beats}/min`, `{Breaths}/min`,
  `{h.b.}/min` and `/min` are one unit.
- §2.1 (the unity): `1/min` is `/min`; a leading factor of `1` changes nothing.
- §2.3 (exponents): `min-1` is `/min`.
- Table 7 (SI units): the litre is written `l` or `L` (both valid case-sensitive codes), so
  `l/min` and `L/min` are one unit.

UCUM codes are case-sensitive: `MM[HG]`, `cel` or `BPM` are not units here. Anything not
listed above is compared as written.
"""

from __future__ import annotations

import re
from typing import Final

_ANNOTATION: Final = re.compile(r"\{[^{}]*\}")
"""UCUM §2.4: `{` to the next `}`, any printable ASCII but braces inside."""

_SPELLINGS: Final[dict[str, str]] = {
    "/min": "/min",
    "1/min": "/min",
    "min-1": "/min",
    "%": "%",
    "mm[Hg]": "mm[Hg]",
    "Cel": "Cel",
    "L/min": "L/min",
    "l/min": "L/min",
}
"""Each accepted spelling (annotations already removed) → the unit it means."""


def ucum_meaning(code: str) -> str:
    """The unit `code` means, written one way: annotations dropped, equal spellings merged.

    A code this module does not know comes back with only its annotations removed (and
    stripped of surrounding spaces), so two unknown codes are equal only when they are
    written alike.

    >>> ucum_meaning("{Breaths}/min"), ucum_meaning("{beats}/min"), ucum_meaning("min-1")
    ('/min', '/min', '/min')
    """
    bare = _ANNOTATION.sub("", code.strip())
    if bare == "" and code.strip():
        bare = "1"  # a term that is only an annotation is the unity (§2.4)
    return _SPELLINGS.get(bare, bare)


def same_unit(code: str | None, expected: str) -> bool:
    """Whether the UCUM `code` means the unit `expected` (a code of the table above)."""
    if code == expected:
        return True  # the common case, without a regular expression
    return code is not None and ucum_meaning(code) == ucum_meaning(expected)
