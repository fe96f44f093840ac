"""A flood of refused messages is counted, not kept: dead letters rate-limited per topic.

Pure: the clock is an argument. Every refused message normally becomes a dead letter, kept in
full (a bounded prefix of its payload) for whoever must fix its sender. A sender gone wrong, or
an anonymous client sending garbage, could otherwise fill the disk: so each topic may produce
`burst` dead letters at once and `per_minute` a minute after that (a token bucket), and all
topics together `total_per_minute`; beyond that a refusal is only counted, and once a minute
each flooded topic gets one `flood` dead letter saying how many were counted and the last
reason. The buckets of at most `topics` topics are kept (the longest idle forgotten first).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Final

WINDOW: Final = 60.0
"""Seconds between two `flood` summaries of one topic."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime
    topic: str = ""
    dropped: int = 0
    last_reason: str = ""
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Flooded:
    """Refusals on one topic that were counted but not kept."""

    topic: str
    count: int
    since: datetime
    last_reason: str


class FloodGate:
    """Token buckets of dead letters, per topic and in all."""

    def __init__(
        self,
        *,
        per_minute: float = 60,
        burst: float = 120,
        total_per_minute: float = 3000,
        topics: int = 10_000,
    ) -> None:
        self.per_minute, self.burst = per_minute, burst
        self.total_per_minute = total_per_minute
        self.max_topics = topics
        self._buckets: OrderedDict[bytes, _Bucket] = OrderedDict()  # by a digest of the topic
        self._total: _Bucket | None = None
        self.dropped = 0  # refusals counted and not kept, since the start

    def allow(self, topic: str, reason: str, now: datetime) -> bool:
        """Whether a dead letter for a refusal on `topic` at `now` may be kept."""
        # MQTT allows 64 KiB topics: keep a digest and the topic's first 256 characters.
        key = hashlib.blake2b(topic.encode(errors="replace"), digest_size=16).digest()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.burst, now, topic[:256])
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_topics:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        total = self._total
        if total is None:
            total = self._total = _Bucket(self.total_per_minute, now)
        _refill(bucket, now, self.per_minute, self.burst)
        _refill(total, now, self.total_per_minute, self.total_per_minute)
        if bucket.tokens >= 1 and total.tokens >= 1:
            bucket.tokens -= 1
            total.tokens -= 1
            return True
        bucket.dropped += 1
        bucket.last_reason = reason[:1000]
        if bucket.since is None:
            bucket.since = now
        self.dropped += 1
        return False

    def due(self, now: datetime) -> list[Flooded]:
        """The topics whose counted refusals are due a summary (once a `WINDOW`), reset."""
        summaries = []
        for bucket in self._buckets.values():
            since = bucket.since
            if bucket.dropped and since is not None and (now - since).total_seconds() >= WINDOW:
                summaries.append(Flooded(bucket.topic, bucket.dropped, since, bucket.last_reason))
                bucket.dropped, bucket.since = 0, None
        return summaries


def _refill(bucket: _Bucket, now: datetime, per_minute: float, cap: float) -> None:
    elapsed = (now - bucket.at).total_seconds()
    if elapsed > 0:
        bucket.tokens = min(cap, bucket.tokens + elapsed * per_minute / 60)
        bucket.at = now
