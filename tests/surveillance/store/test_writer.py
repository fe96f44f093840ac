"""The BufferedWriter: batching by size and by delay, backpressure, retries, and exit.

Mostly against an in-memory fake store (the writer's edge is `Store.write`, and a fake can fail
or stall on cue), and once end to end with the real SQLite store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveillance.store import (
    Batch,
    BufferedWriter,
    CellSpec,
    DashboardItem,
    DashboardRows,
    DashboardStay,
    DashboardSums,
    DirtyPatient,
    EventRecord,
    ObservationRecord,
    StoredState,
    StoreError,
    open_store,
)

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def obs(i: int) -> ObservationRecord:
    t = T0 + timedelta(seconds=i)
    return ObservationRecord(
        msg_id=f"obs-{i}",
        time=t,
        received_at=t,
        ward="7A",
        bed="1",
        patient_id="P1",
        channel="obs",
        source="manual",
        vitals={"resp_rate": 20},
    )


def batch(*ids: int) -> Batch:
    return Batch(observations=[obs(i) for i in ids])


T = TypeVar("T")


class FakeStore:
    """Records written batches; `fail` makes the next writes raise, `gate` stalls them."""

    def __init__(self) -> None:
        self.writes: list[list[str]] = []
        self.attempts = 0
        self.fail = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def write(self, batch: Batch) -> None:
        self.attempts += 1
        await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise StoreError("database unavailable")
        self.writes.append([o.msg_id for o in batch.observations])

    async def load_state(
        self, since: datetime, *, labs_since: datetime | None = None
    ) -> StoredState:
        return StoredState([], [], [], set())

    async def ping(self) -> None:
        return None

    async def accepted_among(self, msg_ids: list[str]) -> dict[str, Any]:
        return {}

    async def fetch(
        self, kind: type[T], *, patient_id: str | None = None, since: datetime | None = None
    ) -> list[T]:
        return []

    async def events(self, **_: Any) -> list[EventRecord]:
        return []

    async def dashboard_rows(self, since: datetime, until: datetime) -> DashboardRows:
        return DashboardRows([], [], [], [])

    async def dirty_patients(self, limit: int) -> list[DirtyPatient]:
        return []

    async def dirty_count(self) -> int:
        return 0

    async def patient_rows(self, patient_ids: Collection[str]) -> DashboardRows:
        return DashboardRows([], [], [], [])

    async def replace_dashboard_items(
        self,
        done: Collection[DirtyPatient],
        items: Collection[DashboardItem],
        stays: Collection[DashboardStay],
        set_aside: Mapping[str, str] | None = None,
    ) -> int:
        return 0

    async def set_aside_count(self) -> int:
        return 0

    async def refresh_rollups(self, tz: str, cells: CellSpec) -> int:
        return 0

    async def dashboard_sums(
        self,
        since: datetime,
        until: datetime,
        *,
        period: str,
        spans: Collection[tuple[str, datetime, datetime]],
        tz: str,
        medians: Collection[str],
        cells: CellSpec | None = None,
    ) -> DashboardSums:
        return DashboardSums([])

    @property
    def written(self) -> list[str]:
        return [m for w in self.writes for m in w]


async def eventually(check: Callable[[], bool], timeout: float = 2.0) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), timeout)


async def test_flushes_when_max_records_are_buffered() -> None:
    store = FakeStore()
    async with BufferedWriter(store, max_records=10, max_delay=60) as writer:
        await writer.put(batch(*range(6)))
        await asyncio.sleep(0.02)
        assert store.writes == []  # neither full nor late
        await writer.put(batch(*range(6, 10)))
        await eventually(lambda: len(store.writes) == 1)
        assert store.written == [f"obs-{i}" for i in range(10)]
        assert writer.pending == 0


async def test_flushes_max_delay_after_the_first_record() -> None:
    store = FakeStore()
    loop = asyncio.get_running_loop()
    async with BufferedWriter(store, max_records=1000, max_delay=0.05) as writer:
        start = loop.time()
        await writer.put(batch(1))
        await asyncio.sleep(0.02)
        await writer.put(batch(2))  # does not push the deadline back
        assert store.writes == []
        assert writer.pending == 2
        await eventually(lambda: len(store.writes) == 1)
        elapsed = loop.time() - start
        assert 0.045 <= elapsed < 0.5
        assert store.writes == [["obs-1", "obs-2"]]


async def test_put_waits_while_the_buffer_is_full() -> None:
    store = FakeStore()
    store.gate.clear()  # the database stalls
    async with BufferedWriter(store, max_records=4, max_delay=0.001) as writer:
        await writer.put(batch(1, 2, 3, 4))  # full: taken by the (stalled) write
        await eventually(lambda: store.attempts == 1)
        await writer.put(batch(5, 6))
        await writer.put(batch(7, 8))  # the buffer holds 4 now: returns, but ...
        blocked = asyncio.create_task(writer.put(batch(9)))  # ... this one waits
        await asyncio.sleep(0.05)
        assert not blocked.done()
        assert writer.pending == 8
        store.gate.set()
        await asyncio.wait_for(blocked, 2)
    assert store.written == [f"obs-{i}" for i in range(1, 10)]


async def test_failed_writes_are_retried_with_the_same_records() -> None:
    store = FakeStore()
    store.fail = 3
    committed: list[list[object]] = []
    async with BufferedWriter(
        store, max_records=100, max_delay=0.001, retry_cap=0.01, on_commit=committed.append
    ) as writer:
        await writer.put(batch(1, 2), tokens=["m1", "m2"])
        await writer.put(batch(3), tokens=["m3"])
        await eventually(lambda: store.attempts >= 1)
        assert isinstance(writer.last_error, StoreError)
        assert committed == []
        await writer.flush()
        healthy: BufferedWriter = writer  # mypy narrowed last_error to StoreError above
        assert healthy.last_error is None
        assert healthy.pending == 0
    assert store.attempts == 4
    assert store.written == ["obs-1", "obs-2", "obs-3"]
    assert committed == [["m1", "m2", "m3"]]


async def test_backoff_is_capped_and_grows() -> None:
    store = FakeStore()
    store.fail = 4
    loop = asyncio.get_running_loop()
    async with BufferedWriter(store, max_delay=0, retry_cap=0.06) as writer:
        start = loop.time()
        await writer.put(batch(1))
        await writer.flush()
        # waits: ≥0.025, ≥0.03 (capped at 0.06, jitter halves at most), ≥0.03, ≥0.03
        assert loop.time() - start >= 0.1
    assert store.attempts == 5


async def test_exit_flushes_everything() -> None:
    store = FakeStore()
    committed: list[object] = []
    async with BufferedWriter(
        store, max_records=1000, max_delay=60, on_commit=committed.extend
    ) as writer:
        await writer.put(batch(1), tokens=[1])
        await writer.put(batch(2), tokens=[2])
        await writer.put(Batch(), tokens=[3])  # a message with no records is still acknowledged
    assert store.written == ["obs-1", "obs-2"]
    assert committed == [1, 2, 3]


async def test_flush_returns_at_once_when_nothing_is_pending() -> None:
    store = FakeStore()
    async with BufferedWriter(store) as writer:
        await asyncio.wait_for(writer.flush(), 0.5)
    assert store.attempts == 0


async def test_a_failing_on_commit_does_not_stop_the_writer() -> None:
    store = FakeStore()

    def boom(tokens: list[object]) -> None:
        raise RuntimeError("ack failed")

    async with BufferedWriter(store, max_delay=0, on_commit=boom) as writer:
        await writer.put(batch(1), tokens=["a"])
        await writer.flush()
        await writer.put(batch(2), tokens=["b"])
    assert store.written == ["obs-1", "obs-2"]


async def test_put_outside_the_context_is_an_error() -> None:
    writer = BufferedWriter(FakeStore())
    with pytest.raises(RuntimeError, match="async with"):
        await writer.put(batch(1))


# Any interleaving of puts, pauses, flushes and failures: every record written exactly once,
# every token committed exactly once and in put order.

step = st.one_of(
    st.tuples(st.just("put"), st.integers(0, 7)),
    st.tuples(st.just("sleep"), st.integers(0, 3)),
    st.tuples(st.just("fail"), st.integers(1, 3)),
    st.tuples(st.just("flush"), st.just(0)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(step, max_size=25),
    max_records=st.integers(1, 12),
    max_delay=st.sampled_from([0.0, 0.001, 0.005]),
)
def test_any_interleaving_writes_everything_once(
    steps: list[tuple[str, int]], max_records: int, max_delay: float
) -> None:
    async def scenario() -> tuple[FakeStore, list[object], list[int], list[object]]:
        store = FakeStore()
        committed: list[object] = []
        next_id = 0
        tokens: list[object] = []
        async with BufferedWriter(
            store,
            max_records=max_records,
            max_delay=max_delay,
            retry_cap=0.002,
            on_commit=committed.extend,
        ) as writer:
            for action, n in steps:
                if action == "put":
                    ids = list(range(next_id, next_id + n))
                    next_id += n
                    token = f"t{len(tokens)}"
                    tokens.append(token)
                    await writer.put(batch(*ids), tokens=[token])
                elif action == "sleep":
                    await asyncio.sleep(n / 1000)
                elif action == "fail":
                    store.fail += n
                else:
                    await writer.flush()
        return store, committed, list(range(next_id)), tokens

    store, committed, ids, tokens = asyncio.run(scenario())
    assert store.written == [f"obs-{i}" for i in ids]
    assert committed == tokens


# End to end with the real SQLite store.


async def test_with_the_sqlite_store(tmp_path: Path) -> None:
    committed: list[object] = []
    async with (
        open_store(f"sqlite:///{tmp_path}/w.db") as store,
        BufferedWriter(
            store, max_records=500, max_delay=0.01, on_commit=committed.extend
        ) as writer,
    ):
        for i in range(0, 3000, 10):
            await writer.put(batch(*range(i, i + 10)), tokens=[i])
            await writer.put(batch(i), tokens=[f"dup{i}"])  # a redelivery
        await writer.flush()
        assert await store.count("observations") == 3000  # type: ignore[attr-defined]
        await writer.put(batch(5000), tokens=["last"])
    async with open_store(f"sqlite:///{tmp_path}/w.db") as store:
        assert await store.count("observations") == 3001  # type: ignore[attr-defined]
    expected: list[object] = []
    for i in range(0, 3000, 10):
        expected += [i, f"dup{i}"]
    assert committed == [*expected, "last"]
