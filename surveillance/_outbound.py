"""Out to the record (issue 17): each score as a FHIR R4 Observation and an HL7 v2 ORU^R01,
each alert event as an IHE PCD-04 ORU^R40; published on topics (`[outbound] topics`) and,
when configured, delivered to an MLLP endpoint, a FHIR server and an ACM alert manager.

Delivery is at least once, in order per patient, and loses nothing: every message is first
written to the durable `OutboundQueue` (before the inputs that made it are acknowledged), and
leaves it only once its endpoint accepted it (MLLP: an ACK `AA`; FHIR: `PUT Observation/{id}`
answered 200 or 201) or refused it for good (MLLP `AR`, HTTP 4xx other than 401, 403, 408,
409, 429: kept in the queue's `refused` table with the reason). Everything else (no
connection, a timeout, `AE`, HTTP 5xx) is retried with exponential backoff and jitter
(`retry_first` doubling to `retry_cap`), for as long as it takes; the patient's later
messages wait behind it, other patients' go on. A retry sends the same bytes: the same MSH-10
and the same Observation id, so the receiver can recognise it (PUT with a stable id is
idempotent by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, Self

import hl7  # type: ignore[import-untyped]  # no stubs
import httpx2
import msgspec
from hl7.mllp import open_hl7_connection  # type: ignore[import-untyped]  # no stubs

from ingest import (
    PATIENT_ID_SYSTEM,
    Hl7Parties,
    alert_r40,
    alerts_acm_topic,
    score_fhir_topic,
    score_hl7v2_topic,
    score_observation,
    score_oru,
    score_resource_id,
)
from surveillance._outbound_queue import OutboundQueue, Outgoing, Queued
from surveillance._settings import OutboundSettings, Settings, redact
from surveillance.online import Output, Publication

log = logging.getLogger(__name__)

Outcome = Literal["sent", "retry", "refused"]
HEAD: Final = 100
"""Rows read from the queue at a time, per endpoint."""
ANSWER_KEPT: Final = 4096
"""Bytes of a FHIR server's refusal read (for the reason kept and logged)."""
APPEND_WAIT: Final = 1.0
"""Seconds a batch waits at most for the queue's synced write (6.4 ms median measured here): a
slower one (a write lock held elsewhere, a stalled disk) goes on in the background, and the
batch's messages are kept in memory meanwhile, as when the queue cannot be written; scoring
and alerts never wait longer for the record."""
IDLE: Final = 1.0
"""Seconds an idle sender waits before it looks at the queue again (a new message wakes it)."""
_decode = msgspec.json.decode
_encode = msgspec.json.Encoder().encode


class Endpoint(Protocol):
    """Where one kind of message goes (an async context manager)."""

    target: str

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def send(self, row: Queued) -> tuple[Outcome, str]:
        """Try once: `sent`, `retry` (with why) or `refused` (with why)."""
        ...


class MllpEndpoint:
    """An HL7 v2 receiver over MLLP (python-hl7's `open_hl7_connection`): one connection, kept
    open, opened again after any failure; each message waits for its ACK."""

    def __init__(self, target: str, host: str, port: int, timeout: float) -> None:
        self.target, self.host, self.port, self.timeout = target, host, port, timeout
        self._reader: Any = None
        self._writer: Any = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def _close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def send(self, row: Queued) -> tuple[Outcome, str]:
        where = f"MLLP {self.host}:{self.port}"
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.wait_for(
                    open_hl7_connection(self.host, self.port, encoding="utf-8"), self.timeout
                )
            self._writer.writemessage(row.body.decode())
            await asyncio.wait_for(self._writer.drain(), self.timeout)
            ack = await asyncio.wait_for(self._reader.readmessage(), self.timeout)
        except (OSError, TimeoutError, EOFError, ValueError, asyncio.IncompleteReadError) as error:
            await self._close()
            return "retry", f"{where}: {type(error).__name__}: {error}"
        except Exception as error:  # an unreadable ACK (python-hl7 raises assorted errors)
            await self._close()
            return "retry", f"{where}: unreadable answer ({type(error).__name__})"
        return await self._judge(ack, row, where)

    async def _judge(self, ack: Any, row: Queued, where: str) -> tuple[Outcome, str]:
        try:
            msa = ack.segment("MSA")
            code, echoed = str(msa[1]), str(msa[2])
            text = str(msa[3]) if len(msa) > 3 else ""
        except (KeyError, IndexError):
            await self._close()
            return "retry", f"{where}: the answer has no MSA segment"
        sent_id = str(hl7.parse(row.body.decode()).segment("MSH")[10])
        if echoed != sent_id:
            # Out of step (an ACK of an earlier message?): start again on a new connection.
            await self._close()
            return "retry", f"{where}: ACK for {echoed!r}, not {sent_id!r}"
        if code in ("AA", "CA"):
            return "sent", ""
        if code in ("AR", "CR"):
            return "refused", f"{where}: {code} {text}".strip()
        return "retry", f"{where}: {code} {text}".strip()


class FhirEndpoint:
    """A FHIR R4 server: each score `PUT {base}/Observation/{id}` (update as create, with the
    stable id, so a retry is idempotent)."""

    def __init__(self, base: str, timeout: float, token: str | None) -> None:
        self.target = "fhir"
        self.base, self.timeout = base.rstrip("/"), timeout
        self.shown = redact(self.base)
        """The base as reasons, logs and `/healthz` quote it: a password in it as `***`."""
        headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx2.AsyncClient(timeout=timeout, headers=headers, trust_env=False)

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.__aexit__(None, None, None)

    async def send(self, row: Queued) -> tuple[Outcome, str]:
        # The resource's own id: a correction's is the id of the Observation it corrects (its
        # queue key is its own, so the correction is never taken for the original, sent).
        resource_id = (_decode(row.body).get("id") if row.body else None) or row.key
        url = f"{self.base}/Observation/{resource_id}"
        shown = f"{self.shown}/Observation/{resource_id}"
        try:
            # One deadline for the whole attempt (httpx's timeout is per read: a server
            # dripping a byte at a time would hold the sender for ever), and no more of the
            # answer read than the reason keeps (a huge body would be held in memory).
            async with (
                asyncio.timeout(self.timeout),
                self._client.stream("PUT", url, content=row.body) as response,
            ):
                status = response.status_code
                if status in (200, 201):
                    return "sent", ""
                text = await _beginning(response, ANSWER_KEPT)
        except (httpx2.HTTPError, TimeoutError) as error:
            said = str(error).replace(self.base, self.shown)
            return "retry", f"FHIR PUT {shown}: {type(error).__name__}: {said}"
        why = f"FHIR PUT {shown}: HTTP {status} {text[:500]}".strip()
        if 400 <= status < 500 and status not in (401, 403, 408, 409, 429):
            return "refused", why
        return "retry", why  # 5xx, a redirect (never followed: the token stays here), 1xx, 2xx


async def _beginning(response: httpx2.Response, most: int) -> str:
    """At most the first `most` bytes of an answer's body, as text."""
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= most:
            break
    return kept[:most].decode("utf-8", "replace")


@dataclass
class Sender:
    """What one endpoint's sender has done (for `/healthz`)."""

    sent: int = 0
    retries: int = 0
    refused: int = 0
    last_error: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Outbound:
    """The outbound side of the service: formats (`take`), queues and delivers. An async
    context manager: the queue and the senders run while the block does, and only when an
    endpoint is configured; with `[outbound] topics` alone nothing is queued."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config: OutboundSettings = settings.outbound
        config = self.config
        self.parties = Hl7Parties(
            sending_application=config.sending_application,
            sending_facility=config.sending_facility,
            receiving_application=config.receiving_application,
            receiving_facility=config.receiving_facility,
            assigning_authority=config.assigning_authority,
        )
        self.prefix = settings.broker.prefix
        self.queue: OutboundQueue | None = None
        self.senders: dict[str, Sender] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._unqueued: list[Outgoing] = []
        self.queue_error: str | None = None
        self.append_wait = APPEND_WAIT
        """Seconds a batch waits at most for the queue's write (`APPEND_WAIT`)."""
        self._appending: asyncio.Task[int] | None = None
        self._stack = contextlib.AsyncExitStack()

    @property
    def active(self) -> bool:
        """Whether `take` has anything to do."""
        return self.config.topics or self.config.delivers

    def endpoints(self) -> list[Endpoint]:
        """The configured endpoints."""
        config = self.config
        found: list[Endpoint] = []
        if config.mllp_host:
            found.append(MllpEndpoint("mllp", config.mllp_host, config.mllp_port, config.timeout))
        if config.acm_host:
            found.append(MllpEndpoint("acm", config.acm_host, config.acm_port, config.timeout))
        if config.fhir_base:
            found.append(FhirEndpoint(config.fhir_base, config.timeout, config.token()))
        return found

    async def __aenter__(self) -> Self:
        if not self.config.delivers:
            return self
        try:
            path = self.settings.outbound_queue_path()
            self.queue = await self._stack.enter_async_context(OutboundQueue(path))
            for endpoint in self.endpoints():
                await self._stack.enter_async_context(endpoint)
                sender = self.senders[endpoint.target] = Sender()
                self._tasks.append(
                    asyncio.create_task(
                        self._deliver(endpoint, sender), name=f"outbound.{endpoint.target}"
                    )
                )
        except BaseException:
            await self._stop()
            raise
        waiting = {t: n for t, n in self.queue.pending.items() if n}
        log.info("outbound to %s; waiting from before: %s", sorted(self.senders), waiting or 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop()

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._appending is not None:  # a write still running: the queue closes after it
            with contextlib.suppress(Exception):
                await self._appending
        await self._stack.aclose()

    # -- formatting ------------------------------------------------------------------------

    def observation(self, result: dict[str, Any]) -> dict[str, Any]:
        """The FHIR Observation of a score result, with the configured patient system."""
        return score_observation(
            result,
            patient_system=self.config.patient_system or PATIENT_ID_SYSTEM,
            nhs_number=self.config.nhs_number,
        )

    def publications(self, publications: Iterable[Publication]) -> list[Publication]:
        """The topic forms (`[outbound] topics`) of these publications: for each bed's score
        its FHIR and HL7 v2 forms (retained, as the score), for each alert event its ORU^R40
        (not retained); nothing else."""
        extra: list[Publication] = []
        if not self.config.topics:
            return extra
        prefix = self.prefix
        for p in publications:
            if not p.topic.startswith(prefix):
                continue
            parts = p.topic[len(prefix) :].split("/")
            if (
                len(parts) == 5
                and parts[0] == "wards"
                and parts[2] == "beds"
                and parts[4] == "score"
            ):
                result = _decode(p.payload)
                ward, bed = parts[1], parts[3]
                extra.append(
                    Publication(
                        score_fhir_topic(prefix, ward, bed),
                        _encode(self.observation(result)),
                        retain=p.retain,
                    )
                )
                extra.append(
                    Publication(
                        score_hl7v2_topic(prefix, ward, bed),
                        score_oru(result, self.parties).encode(),
                        retain=p.retain,
                    )
                )
            elif len(parts) == 3 and parts[0] == "wards" and parts[2] == "alerts":
                event = _decode(p.payload)
                extra.append(
                    Publication(
                        alerts_acm_topic(prefix, parts[1]),
                        alert_r40(event, self.parties).encode(),
                    )
                )
        return extra

    def outgoing(self, out: Output) -> list[Outgoing]:
        """What the batch sends to the configured endpoints: every score stored (late ones
        too: the record wants each), every alert event."""
        config, items = self.config, []
        if config.mllp_host or config.fhir_base:
            for record in out.batch.scores:
                result = _decode(record.result)
                patient = str(result.get("patient_id") or "")
                if config.fhir_base:
                    items.append(
                        Outgoing(
                            "fhir",
                            score_resource_id(result),
                            patient,
                            _encode(self.observation(result)),
                        )
                    )
                if config.mllp_host:
                    items.append(
                        Outgoing(
                            "mllp",
                            score_resource_id(result),
                            patient,
                            score_oru(result, self.parties).encode(),
                        )
                    )
        if config.acm_host:
            for alert in out.batch.alerts:
                event = _decode(alert.event)
                items.append(
                    Outgoing(
                        "acm",
                        f"{alert.alert_id}#{alert.seq}",
                        alert.patient_id,
                        alert_r40(event, self.parties).encode(),
                    )
                )
        return items

    async def take(self, out: Output) -> None:
        """Before the batch is stored: add the topic forms to its publications, and queue what
        goes to the endpoints (durably). If the queue cannot be written (its disk failing),
        the messages are kept in memory and tried again with the next batch, and `/healthz`
        says so: scoring and alerting never stop for the record's sake."""
        if not self.active:
            return
        out.publications.extend(self.publications(out.publications))
        queue = self.queue
        if queue is None:
            return
        items = [*self._unqueued, *self.outgoing(out)]
        if not items:
            return
        busy = self._appending
        if busy is not None and not busy.done():
            self._hold(items, "an earlier write is still running (a lock held, a stalled disk)")
            return
        task = self._appending = asyncio.create_task(queue.append(items))
        task.add_done_callback(_retrieved)
        try:
            await asyncio.wait_for(asyncio.shield(task), self.append_wait)
        except TimeoutError:
            self._hold(
                items, f"a write took over {self.append_wait:g} s (a lock held, a slow disk)"
            )
            return
        except Exception as error:
            self._hold(items, str(error))
            return
        self._unqueued, self.queue_error = [], None
        for sender in self.senders.values():
            sender.wake.set()

    def _hold(self, items: list[Outgoing], error: str) -> None:
        """Keep `items` in memory, to be queued with the next batch (the queue is failing)."""
        self._unqueued = items
        if self.queue_error is None:
            assert self.queue is not None  # noqa: S101 - only with a queue
            log.critical(
                "the outbound queue %s cannot be written (%s): %d message(s) kept in memory "
                "until it can (lost if the service dies meanwhile)",
                self.queue.path,
                error,
                len(items),
            )
        self.queue_error = error

    # -- delivery ---------------------------------------------------------------------------

    async def _deliver(self, endpoint: Endpoint, sender: Sender) -> None:
        """Forever: the oldest messages for this endpoint, in order per patient. A patient
        whose message failed waits (exponential backoff with jitter, their own) and their rows
        are left out of the next reads, so however many they have queued the other patients'
        go on; a failing queue file is retried too (the task never ends with rows queued)."""
        config, queue = self.config, self.queue
        assert queue is not None  # noqa: S101 - started only with a queue
        loop = asyncio.get_running_loop()
        backoff: dict[str, tuple[float, float]] = {}  # patient: (not before, delay)
        queue_delay = config.retry_first
        while True:
            now = loop.time()
            waiting = {patient for patient, (at, _) in backoff.items() if at > now}
            try:
                rows = await queue.head(endpoint.target, HEAD, waiting)
                for row in rows:
                    if row.patient in waiting:
                        continue  # an earlier row of theirs failed in this read
                    await self._attempt(endpoint, sender, row, backoff, waiting)
            except Exception as error:  # the queue file failing: a full disk, a lock held
                sender.last_error = f"the outbound queue: {type(error).__name__}: {error}"
                log.error("%s: %s; trying again", endpoint.target, sender.last_error)
                await asyncio.sleep(queue_delay * (0.5 + random.random() / 2))  # noqa: S311
                queue_delay = min(queue_delay * 2, config.retry_cap)
                continue
            queue_delay = config.retry_first
            if rows:
                continue  # more may be there (or others, now that these patients wait)
            for patient in [p for p, (at, _) in backoff.items() if at <= now]:
                del backoff[patient]  # due, yet no row of theirs is left (removed by hand?)
            if not backoff:
                sender.last_error = None
            sender.wake.clear()
            nearest = min((at for at, _ in backoff.values()), default=now + IDLE)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sender.wake.wait(), max(0.0, min(IDLE, nearest - now)))

    async def _attempt(
        self,
        endpoint: Endpoint,
        sender: Sender,
        row: Queued,
        backoff: dict[str, tuple[float, float]],
        waiting: set[str],
    ) -> None:
        """Send one row; on failure its patient waits (`backoff`, `waiting`)."""
        queue, config = self.queue, self.config
        assert queue is not None  # noqa: S101 - started only with a queue
        outcome, why = await endpoint.send(row)
        if outcome == "sent":
            await queue.delete(row)
            sender.sent += 1
            backoff.pop(row.patient, None)
        elif outcome == "refused":
            await queue.bury(row, why)
            sender.refused += 1
            backoff.pop(row.patient, None)
            log.error("%s refused %s for good: %s", endpoint.target, row.key, why)
        else:
            sender.retries += 1
            sender.last_error = why
            _, last = backoff.get(row.patient, (0.0, config.retry_first / 2))
            delay = min(last * 2, config.retry_cap)
            jitter = 0.5 + random.random() / 2  # noqa: S311 - jitter
            backoff[row.patient] = (asyncio.get_running_loop().time() + delay * jitter, delay)
            waiting.add(row.patient)
            await queue.failed(row, why)
            if row.attempts == 0 or (row.attempts + 1) % 10 == 0:
                log.warning("%s: %s (attempt %d)", endpoint.target, why, row.attempts + 1)

    def health(self) -> dict[str, Any]:
        """The backlog for `/healthz`: per endpoint what waits, was sent, retried, refused."""
        queue = self.queue
        return {
            "topics": self.config.topics,
            "queue_error": self.queue_error,
            "unqueued": len(self._unqueued),
            "endpoints": {
                target: {
                    "pending": 0 if queue is None else queue.pending.get(target, 0),
                    "sent": sender.sent,
                    "retries": sender.retries,
                    "refused": (0 if queue is None else queue.refused.get(target, 0)),
                    "last_error": without_answer(sender.last_error),
                }
                for target, sender in self.senders.items()
            },
        }


_ANSWER: Final = re.compile(r"(.*?(?:HTTP \d{3}|: [AC][ER]))\b")


def without_answer(why: str | None) -> str | None:
    """A reason as `/healthz` shows it (anonymously): up to the endpoint's status or ACK code,
    never the answer's own words (an OperationOutcome or MSA-3 may quote a patient); the log
    and the queue's `refused` table keep them whole."""
    if why is None:
        return None
    found = _ANSWER.match(why)
    return why if found is None else f"{found.group(1)} (its answer is in the log)"


def _retrieved(task: asyncio.Task[int]) -> None:
    """A queue write finished in the background: its error was already reported (`_hold`)."""
    if not task.cancelled():
        task.exception()
