"""Enrolled wall screens (issue 14, item 3): a long-lived, revocable, view-only credential per
screen, scoped to its ward, kept in a JSON file named in the settings (`auth.displays`).

`surveillance display enrol --ward 7A` adds an enrolment and prints a one-time enrolment URL
(its code is good once, for `code_seconds`); the screen opens it, and the server exchanges
the code for the screen's own credential, kept in an HTTP-only cookie. Only SHA-256 digests of
codes and credentials are stored. `surveillance display revoke ID` marks it revoked: the next
request, and every open websocket at its next status frame (2 s), is refused.

Every server reading the file sees a change at its next check (the file's modification time is
compared on each use); writers replace it atomically under an exclusive lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

CODE_SECONDS = 900.0
"""How long an enrolment code is good for (15 min): long enough to walk to the screen."""


class Display(msgspec.Struct, kw_only=True):
    """One enrolled screen."""

    id: str
    ward: str
    label: str = ""
    created: float
    code_sha256: str | None = None
    code_expires: float | None = None
    secret_sha256: str | None = None
    revoked: float | None = None


class _File(msgspec.Struct):
    displays: list[Display] = msgspec.field(default_factory=list)


_DECODE = msgspec.json.Decoder(_File)
_ENCODE = msgspec.json.Encoder()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class DisplayRegistry:
    """The enrolments in `path` (created when first written)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._seen: tuple[int, int] | None = None
        self._cache = _File()

    def displays(self) -> list[Display]:
        """Every enrolment, revoked ones included (re-read when the file changed)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._cache = None, _File()
            return []
        key = (stat.st_mtime_ns, stat.st_size)
        if key != self._seen:
            self._cache = _DECODE.decode(self.path.read_bytes() or b'{"displays": []}')
            self._seen = key
        return list(self._cache.displays)

    def enrol(
        self, ward: str, label: str = "", code_seconds: float = CODE_SECONDS
    ) -> tuple[str, str]:
        """A new screen for `ward`: its id and the one-time enrolment code."""
        if not ward.strip():
            msg = "a display needs a ward"
            raise ValueError(msg)
        code = secrets.token_urlsafe(24)
        display_id = f"d-{secrets.token_hex(4)}"
        now = self._clock()
        with self._editing() as data:
            data.displays.append(
                Display(
                    id=display_id,
                    ward=ward.strip(),
                    label=label,
                    created=now,
                    code_sha256=_digest(code),
                    code_expires=now + code_seconds,
                )
            )
        return display_id, code

    def redeem(self, code: str) -> tuple[Display, str] | None:
        """Exchange a one-time code for the screen's credential (`id.secret`); None if the
        code is unknown, used, expired or revoked."""
        digest, now = _digest(code), self._clock()
        with self._editing() as data:
            for display in data.displays:
                if display.code_sha256 is None or not hmac.compare_digest(
                    display.code_sha256, digest
                ):
                    continue
                if display.revoked is not None or (display.code_expires or 0) < now:
                    return None
                secret = secrets.token_urlsafe(32)
                display.code_sha256 = display.code_expires = None
                display.secret_sha256 = _digest(secret)
                return display, f"{display.id}.{secret}"
        return None

    def check(self, credential: str) -> Display | None:
        """The screen a credential belongs to, unless revoked or unknown."""
        display_id, _, secret = credential.partition(".")
        if not secret:
            return None
        for display in self.displays():
            if display.id == display_id:
                ok = display.secret_sha256 is not None and hmac.compare_digest(
                    display.secret_sha256, _digest(secret)
                )
                return display if ok and display.revoked is None else None
        return None

    def revoke(self, display_id: str) -> bool:
        """Revoke a screen (it can never be used again); False if there is no such id."""
        with self._editing() as data:
            for display in data.displays:
                if display.id == display_id:
                    if display.revoked is None:
                        display.revoked = self._clock()
                    return True
        return False

    @contextlib.contextmanager
    def _editing(self) -> Iterator[_File]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with lock.open("a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            try:
                raw = self.path.read_bytes() if self.path.exists() else b""
                data = _DECODE.decode(raw) if raw.strip() else _File()
                yield data
                temporary = self.path.with_name(self.path.name + ".tmp")
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(_ENCODE.encode(data))
                    out.flush()
                    os.fsync(out.fileno())
                temporary.replace(self.path)
                self._seen = None
            finally:
                fcntl.flock(held, fcntl.LOCK_UN)
