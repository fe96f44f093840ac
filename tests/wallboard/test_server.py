"""The wallboard server for real: a private Mosquitto, a uvicorn server, HTTP and websockets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from ingest import HEARTBEAT_TOPIC
from tests.mqtt_broker import Mosquitto
from tests.wallboard.test_state import adt, alert, score
from wallboard import Auth, BrokerFeed, bind, create_app, serve

WARD = "7A"


@dataclass
class Wallboard:
    feed: BrokerFeed
    prefix: str
    http: str
    ws: str
    client: httpx.AsyncClient

    async def publish(self, topic: str, payload: bytes, *, retain: bool = True) -> None:
        broker = self.feed
        async with aiomqtt.Client(broker.host, broker.port) as client:
            await client.publish(self.prefix + topic, payload, qos=1, retain=retain)

    async def ward(self, ward: str = WARD) -> dict[str, Any]:
        response = await self.client.get(f"/api/wards/{ward}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Wait until `check()` is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met in {timeout} s")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(
    mosquitto: Mosquitto,
    *,
    queue_size: int = 1024,
    health: Callable[[], dict[str, Any]] | None = None,
    history: FakeHistory | None = None,
    frame_interval: float = 0.04,
) -> AsyncIterator[Wallboard]:
    """A feed on the private broker (under a prefix of its own) and a server on a free port."""
    prefix = f"test-{uuid.uuid4().hex[:8]}/"
    async with BrokerFeed(
        mosquitto.host,
        mosquitto.port,
        prefix=prefix,
        queue_size=queue_size,
        frame_interval=frame_interval,
    ) as feed:
        sock = bind("127.0.0.1", 0)
        port = sock.getsockname()[1]
        server = asyncio.create_task(
            serve(
                create_app(feed, auth=Auth.without_login("none"), health=health, history=history),
                "127.0.0.1",
                0,
                sock=sock,
            )
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                # What the pages send with every POST: their origin and the CSRF token
                # (`--auth none` has one per server, from /auth/me).
                csrf = (await client.get("/auth/me")).json()["csrf"]
                client.headers.update({"Origin": base.rstrip("/"), "X-CSRF-Token": csrf})
                board = Wallboard(feed, prefix, base, f"ws://127.0.0.1:{port}", client)
                await until(lambda: _true(feed.connected))
                yield board
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server


async def _true(value: bool) -> bool:
    return value


async def receive(
    socket: ClientConnection, timeout: float = 2.0, *, status: bool = False
) -> dict[str, Any]:
    """The next message; status messages (every 2 s) are skipped unless `status`."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if status or message["type"] != "status":
            return message


async def admit_and_score(board: Wallboard, bed: str = "12", patient: str = "P1") -> None:
    await board.publish(f"wards/{WARD}/beds/{bed}/adt", adt("admit", patient))
    await board.publish(
        f"wards/{WARD}/beds/{bed}/score",
        score(patient, bed=bed, minute=1, sex="F"),  # an unknown field is not passed on
    )


async def test_api_shows_what_the_broker_carries(mosquitto: Mosquitto) -> None:
    async with running(mosquitto) as board:
        await admit_and_score(board)
        await board.publish(f"wards/{WARD}/alerts", alert("a-1", "raised", 1), retain=False)

        async def shown() -> bool:
            response = await board.client.get(f"/api/wards/{WARD}")
            if response.status_code != 200:
                return False
            bed = response.json()["beds"][0]
            return bed["score"] is not None and bed["open_alerts"] != []

        await until(shown)
        bed = (await board.ward())["beds"][0]
        assert bed["patient"]["cohort"] == "adult"
        text = json.dumps(bed)  # never the patient id nor the birth date (issue 14)
        assert "patient_id" not in text
        assert "1948" not in text
        assert bed["score"]["total"] == 5
        assert bed["vitals"]["resp_rate"] == 22
        assert bed["next_obs_due"] == "2026-11-22T09:02:00Z"
        assert bed["open_alerts"][0]["alert_id"] == "a-1"
        assert "sex" not in json.dumps(bed)
        assert (await board.client.get("/api/wards")).json() == {"wards": [WARD]}
        assert (await board.client.get("/api/wards/nowhere")).status_code == 404


async def test_websocket_snapshot_then_changes(mosquitto: Mosquitto) -> None:
    async with running(mosquitto) as board:
        await admit_and_score(board)
        await until(lambda: _has_score(board))
        async with connect(f"{board.ws}/ws/wards/{WARD}") as socket:
            snapshot = await receive(socket)
            assert snapshot["type"] == "snapshot"
            assert snapshot["ward"] == WARD
            assert snapshot["beds"][0]["score"]["total"] == 5
            await board.publish(
                f"wards/{WARD}/beds/12/score", score("P1", minute=2, total=8, risk="high")
            )
            change = await receive(socket, timeout=2.0)
            assert change["type"] == "changes"
            assert change["seq"] == snapshot["seq"] + 1
            assert [view["bed"] for view in change["beds"]] == ["12"]
            assert change["beds"][0]["score"]["risk"] == "high"
            assert change["beds"][0]["trend"]["direction"] == "up"
            assert change["beds"][0]["trend"]["previous_total"] == 5


async def _has_score(board: Wallboard, bed: str = "12") -> bool:
    response = await board.client.get(f"/api/wards/{WARD}")
    return response.status_code == 200 and any(
        view["bed"] == bed and view["score"] is not None for view in response.json()["beds"]
    )


async def test_reconnect_with_since_gets_the_missed_changes(mosquitto: Mosquitto) -> None:
    async with running(mosquitto) as board:
        await admit_and_score(board)
        await until(lambda: _has_score(board))
        async with connect(f"{board.ws}/ws/wards/{WARD}") as socket:
            snapshot = await receive(socket)
        since, epoch = snapshot["seq"], snapshot["epoch"]
        await board.publish(f"wards/{WARD}/beds/14/adt", adt("admit", "P2"))
        await board.publish(f"wards/{WARD}/beds/12/score", score("P1", minute=3, total=0))
        await until(lambda: _has_seq(board, since + 2))
        async with connect(f"{board.ws}/ws/wards/{WARD}?since={since}&epoch={epoch}") as socket:
            missed = await receive(socket)
        assert missed["type"] == "changes"  # both missed changes, in one frame, in order
        assert missed["seq"] == since + 2
        assert [view["bed"] for view in missed["beds"]] == ["14", "12"]
        assert missed["beds"][1]["score"]["total"] == 0
        # Up to date already: nothing to send but the feed's status.
        async with connect(f"{board.ws}/ws/wards/{WARD}?since={since + 2}&epoch={epoch}") as ws:
            assert (await receive(ws, status=True))["type"] == "status"
        # Another epoch (a restarted server) or a seq no longer kept: a fresh snapshot.
        for query in (f"since={since}&epoch=other", f"since=99999&epoch={epoch}"):
            async with connect(f"{board.ws}/ws/wards/{WARD}?{query}") as socket:
                fresh = await receive(socket)
            assert fresh["type"] == "snapshot"
            assert fresh["seq"] == since + 2


async def _has_seq(board: Wallboard, seq: int) -> bool:
    current: int = (await board.ward())["seq"]
    return current >= seq


def _apply(state: dict[str, Any], message: dict[str, Any]) -> None:
    """What a client does: a snapshot replaces its beds, a frame replaces the beds it holds."""
    if message["type"] == "snapshot":
        state.clear()
        state.update({view["bed"]: view for view in message["beds"]})
        state["@seq"] = message["seq"]
    else:
        assert message["seq"] > state["@seq"]
        state.update({view["bed"]: view for view in message["beds"]})
        state["@seq"] = message["seq"]


async def test_slow_client_gets_a_snapshot_and_never_blocks_a_fast_one(
    mosquitto: Mosquitto,
) -> None:
    beds, rounds = 20, 10
    async with (
        running(mosquitto, queue_size=2, frame_interval=0) as board,  # a frame a message
        connect(f"{board.ws}/ws/wards/{WARD}", max_queue=1, sock=_small_socket(board)) as slow,
        connect(f"{board.ws}/ws/wards/{WARD}", max_size=None) as fast,
    ):
        slow_seen = [await receive(slow)]  # the snapshot; then it stops reading
        fast_state: dict[str, Any] = {}
        _apply(fast_state, await receive(fast))
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            for bed in range(beds):
                topic = f"{board.prefix}wards/{WARD}/beds/{bed}/adt"
                await client.publish(topic, adt("admit", f"P{bed}"), qos=1)
            for i in range(beds * rounds):
                bed = i % beds
                # ~30 kB each even compressed: 6 MB in all, more than the buffers between a
                # client that does not read and the server (loopback's are large).
                padding = base64.b64encode(os.urandom(30_000)).decode()
                payload = score(
                    f"P{bed}", bed=str(bed), minute=1 + i // beds, clinical_response=padding
                )
                topic = f"{board.prefix}wards/{WARD}/beds/{bed}/score"
                await client.publish(topic, payload, qos=1)
        bursts = beds * (rounds + 1)
        # The fast client keeps up while the slow one reads nothing.
        await until(lambda: _has_seq(board, bursts), timeout=10)
        final = await board.ward()
        while fast_state["@seq"] < final["seq"]:
            _apply(fast_state, await receive(fast, timeout=5))
        assert [fast_state[view["bed"]] for view in final["beds"]] == final["beds"]
        # Now the slow client reads: it is told with a fresh snapshot, never a gap.
        slow_state: dict[str, Any] = {}
        _apply(slow_state, slow_seen[0])
        while slow_state["@seq"] < final["seq"]:
            message = await receive(slow, timeout=5)
            slow_seen.append(message)
            _apply(slow_state, message)
        assert any(message["type"] == "snapshot" for message in slow_seen[1:])
        assert [slow_state[view["bed"]] for view in final["beds"]] == final["beds"]
        assert sum(s.overflows for s in board.feed._subscribers[WARD]) >= 1


def _small_socket(board: Wallboard) -> socket.socket:
    """A client socket with a small receive buffer, so that not reading soon blocks the server."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = board.ws.removeprefix("ws://").split(":")
    sock.connect((host, int(port)))
    return sock


async def test_outreach_stream(mosquitto: Mosquitto) -> None:
    async with running(mosquitto) as board, connect(f"{board.ws}/ws/outreach") as socket:
        snapshot = await receive(socket)
        assert snapshot["type"] == "snapshot"
        assert snapshot["alerts"] == []
        await board.publish(f"wards/{WARD}/alerts", alert("a-1", "raised"), retain=False)
        change = await receive(socket)
        assert change["type"] == "changes"
        assert [a["alert_id"] for a in change["alerts"]] == ["a-1"]
        assert change["alerts"][0]["open"] is True
        assert change["alerts"][0]["raised_at"] == change["alerts"][0]["time"]
        await board.publish(f"wards/{WARD}/alerts", alert("a-1", "resolved", 2), retain=False)
        assert (await receive(socket))["alerts"][0]["open"] is False


async def test_healthz_follows_the_broker(mosquitto: Mosquitto) -> None:
    store = {"ok": True}
    async with running(
        mosquitto, health=lambda: {"store": dict(store), "ok": store["ok"]}
    ) as board:
        response = await board.client.get("/healthz")
        assert response.status_code == 200
        body = response.json()
        assert body["ok"] is True
        assert body["broker"]["connected"] is True
        assert body["broker"]["port"] == mosquitto.port
        assert body["store"] == {"ok": True}
        store["ok"] = False
        assert (await board.client.get("/healthz")).status_code == 503
        store["ok"] = True

        async def status(code: int) -> bool:
            return (await board.client.get("/healthz")).status_code == code

        await asyncio.to_thread(mosquitto.stop)
        try:
            await until(lambda: status(503))
        finally:
            await asyncio.to_thread(mosquitto.start)
        # Published before the wallboard is back: the persistent session keeps it for us.
        await board.publish(f"wards/{WARD}/alerts", alert("a-7", "raised"), retain=False)
        await until(lambda: status(200), timeout=15)
        await until(lambda: _has_alert(board, "a-7"))
        body = (await board.client.get("/healthz")).json()
        assert body["broker"]["reconnects"] >= 1
        assert body["broker"]["last_message_at"] is not None


async def _has_alert(board: Wallboard, alert_id: str) -> bool:
    response = await board.client.get(f"/api/wards/{WARD}")
    return response.status_code == 200 and alert_id in response.text


async def test_acknowledge_and_resolve_go_to_the_scorer_over_mqtt(mosquitto: Mosquitto) -> None:
    async with (
        running(mosquitto) as board,
        aiomqtt.Client(mosquitto.host, mosquitto.port) as listener,
    ):
        await listener.subscribe(f"{board.prefix}wards/{WARD}/alerts/+/+", qos=1)
        await admit_and_score(board)
        await board.publish(f"wards/{WARD}/alerts", alert("a-1", "raised", 1), retain=False)
        await until(lambda: _has_alert(board, "a-1"))

        response = await board.client.post(
            "/api/alerts/a-1/ack", json={"by": " Sister Jones ", "via": "outreach"}
        )
        assert response.status_code == 202, response.text
        assert response.json()["action"] == "acknowledge"
        message = await asyncio.wait_for(anext(aiomqtt_messages(listener)), 5)
        assert message.topic.value == f"{board.prefix}wards/{WARD}/alerts/a-1/ack"
        command = json.loads(bytes(message.payload))
        assert command["by"] == "Sister Jones (unverified)"  # --auth none: nobody verified
        assert command["via"] == "outreach"
        assert command["msg_id"] == response.json()["msg_id"]

        # Refused before anything is sent, each with its reason.
        refusals = {
            ("ack", "nobody"): (await board.client.post("/api/alerts/a-1/ack", json={"by": ""})),
            ("ack", "not json"): await board.client.post(
                "/api/alerts/a-1/ack", content=b"{", headers={"Content-Type": "application/json"}
            ),
            ("resolve", "no reason"): await board.client.post(
                "/api/alerts/a-1/resolve", json={"by": "Dr Who"}
            ),
            ("ack", "unknown"): await board.client.post("/api/alerts/zz/ack", json={"by": "x"}),
        }
        assert {key: r.status_code for key, r in refusals.items()} == {
            ("ack", "nobody"): 400,
            ("ack", "not json"): 400,
            ("resolve", "no reason"): 400,
            ("ack", "unknown"): 404,
        }
        assert "reason" in refusals["resolve", "no reason"].json()["detail"]

        # An action naming a severity the alert no longer has (it was raised again since) is
        # refused before anything is sent; naming the current one, it goes.
        stale = await board.client.post(
            "/api/alerts/a-1/ack", json={"by": "Sister Jones", "severity": "emergency"}
        )
        assert stale.status_code == 409
        assert "not emergency" in stale.json()["detail"]
        seen = await board.client.post(
            "/api/alerts/a-1/ack", json={"by": "Sister Jones", "severity": "urgent"}
        )
        assert seen.status_code == 202, seen.text
        message = await asyncio.wait_for(anext(aiomqtt_messages(listener)), 5)
        assert json.loads(bytes(message.payload))["severity"] == "urgent"

        # Once the scorer says it is acknowledged, a second acknowledgement is refused.
        acked = alert("a-1", "acknowledged", 2, by="Sister Jones")
        await board.publish(f"wards/{WARD}/alerts", acked, retain=False)
        await until(lambda: _alert_state(board, "a-1", "acknowledged"))
        again = await board.client.post("/api/alerts/a-1/ack", json={"by": "Someone"})
        assert again.status_code == 409
        assert "Sister Jones" in again.json()["detail"]
        response = await board.client.post(
            "/api/alerts/a-1/resolve", json={"by": "Dr Who", "reason": "reviewed, plan in place"}
        )
        assert response.status_code == 202
        message = await asyncio.wait_for(anext(aiomqtt_messages(listener)), 5)
        assert message.topic.value.endswith("/alerts/a-1/resolve")
        assert json.loads(bytes(message.payload))["reason"] == "reviewed, plan in place"
        await board.publish(f"wards/{WARD}/alerts", alert("a-1", "resolved", 3), retain=False)
        await until(lambda: _not(_has_alert(board, "a-1")))
        closed = await board.client.post("/api/alerts/a-1/ack", json={"by": "x"})
        assert closed.status_code == 409


async def aiomqtt_messages(client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Message]:
    async for message in client.messages:
        yield message


async def _not(check: Awaitable[bool]) -> bool:
    return not await check


async def _alert_state(board: Wallboard, alert_id: str, state: str) -> bool:
    for bed in (await board.ward())["beds"]:
        for shown in bed["open_alerts"]:
            if shown["alert_id"] == alert_id and shown["state"] == state:
                return True
    return False


async def test_an_action_while_the_broker_is_down_is_refused_not_lost(
    mosquitto: Mosquitto,
) -> None:
    async with running(mosquitto) as board:
        await board.publish(f"wards/{WARD}/alerts", alert("a-9", "raised", 1), retain=False)
        await until(lambda: _has_alert(board, "a-9"))
        await asyncio.to_thread(mosquitto.stop)
        try:
            await until(lambda: _true(not board.feed.connected))
            response = await board.client.post("/api/alerts/a-9/ack", json={"by": "x"})
            assert response.status_code == 503
            assert "nothing was sent" in response.json()["detail"]
        finally:
            await asyncio.to_thread(mosquitto.start)


async def test_status_frames_say_when_the_feed_is_stale(mosquitto: Mosquitto) -> None:
    now = [datetime(2026, 11, 23, 9, 0, tzinfo=UTC)]
    prefix = f"test-{uuid.uuid4().hex[:8]}/"
    async with BrokerFeed(
        mosquitto.host, mosquitto.port, prefix=prefix, stale_after=30, clock=lambda: now[0]
    ) as feed:
        await until(lambda: _true(feed.connected))
        assert feed.feed_state()["stale"] is False
        now[0] += timedelta(seconds=31)  # nothing heard since connecting
        state = feed.feed_state()
        assert state["stale"] is True
        assert "no message from the broker for 31 s" in state["reason"]
        beat = {"time": now[0].isoformat(), "service": "scorer", "healthy": True}
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.publish(f"{prefix}{HEARTBEAT_TOPIC}", json.dumps(beat), qos=1)
        await until(lambda: _true(feed.last_heartbeat_at == now[0]))
        assert feed.feed_state()["stale"] is False
        now[0] += timedelta(seconds=45)  # the scorer went quiet
        assert "no heartbeat from the scorer for 45 s" in feed.feed_state()["reason"]
        with feed.subscribe(WARD) as subscription:
            feed.tick()
            frames = await asyncio.wait_for(subscription.next(), 1)
        assert frames is not None
        status = json.loads(frames[-1])
        assert status["type"] == "status"
        assert status["feed"]["stale"] is True


async def test_a_heartbeat_saying_the_scorer_is_unhealthy_makes_every_screen_stale(
    mosquitto: Mosquitto,
) -> None:
    """A scorer alive but not well (its store down and spooling, say) says so in its
    heartbeat; the boards must not call their data live (safety case action SC-1)."""
    now = [datetime(2026, 11, 23, 9, 0, tzinfo=UTC)]
    prefix = f"test-{uuid.uuid4().hex[:8]}/"

    async def beat(client: aiomqtt.Client, **fields: Any) -> None:
        body = {"time": now[0].isoformat(), "service": "scorer", **fields}
        await client.publish(f"{prefix}{HEARTBEAT_TOPIC}", json.dumps(body), qos=1, retain=True)
        await until(lambda: _true(feed.last_heartbeat_at == now[0]))

    async with (
        BrokerFeed(
            mosquitto.host, mosquitto.port, prefix=prefix, stale_after=30, clock=lambda: now[0]
        ) as feed,
        aiomqtt.Client(mosquitto.host, mosquitto.port) as client,
    ):
        await until(lambda: _true(feed.connected))
        await beat(client, healthy=True)
        assert feed.feed_state()["stale"] is False
        now[0] += timedelta(seconds=5)
        await beat(client, healthy=False, problem="spooling to disk: the store is down")
        state = feed.feed_state()
        assert state["stale"] is True
        assert state["reason"] == "the scorer says it is spooling to disk: the store is down"
        with feed.subscribe(WARD) as subscription:
            feed.tick()
            frames = await asyncio.wait_for(subscription.next(), 1)
        assert frames is not None
        assert json.loads(frames[-1])["feed"]["stale"] is True  # what every screen is told
        now[0] += timedelta(seconds=5)
        await beat(client, healthy=False)  # no reason given: still not live
        assert feed.feed_state()["reason"] == "the scorer says it is unhealthy"
        now[0] += timedelta(seconds=5)
        await beat(client, healthy=True)  # well again
        assert feed.feed_state()["stale"] is False


class FakeHistory:
    def __init__(self) -> None:
        self.asked: list[tuple[str, datetime]] = []
        self.viewers: list[str] = []

    async def scores(
        self, patient_id: str, since: datetime, *, viewer: str
    ) -> list[dict[str, Any]]:
        self.asked.append((patient_id, since))
        self.viewers.append(viewer)
        return [json.loads(score(patient_id, minute=m, total=m)) for m in (1, 2)]

    async def alerts(
        self, patient_id: str, since: datetime, *, viewer: str
    ) -> list[dict[str, Any]]:
        self.viewers.append(viewer)
        return [json.loads(alert("a-1", "raised", 1))]

    async def events(
        self, patient_id: str, since: datetime, *, viewer: str
    ) -> list[dict[str, Any]]:
        self.viewers.append(viewer)
        return [{"msg_id": "ev-1", "patient_id": patient_id, "event": "rrt-call"}]

    async def report(self, since: datetime, until: datetime, wards: list[str]) -> dict[str, Any]:
        if since < datetime(2000, 1, 1, tzinfo=UTC):
            msg = "too far back"
            raise ValueError(msg)
        return {"since": since.isoformat(), "until": until.isoformat(), "wards": wards}


async def test_patient_history_and_chart_bands(mosquitto: Mosquitto) -> None:
    history = FakeHistory()
    async with running(mosquitto, history=history) as board:
        await admit_and_score(board)
        await until(lambda: _has_score(board))
        response = await board.client.get(f"/api/wards/{WARD}/beds/12/history?hours=6")
        assert response.status_code == 200, response.text
        body = response.json()
        assert [s["total"] for s in body["scores"]] == [1, 2]
        assert body["alerts"][0]["alert_id"] == "a-1"
        # no login: no identifiers (issue 14), in the patient, its alerts or its events
        assert "patient_id" not in body["patient"]
        assert [a.get("patient_id") for a in body["alerts"]] == [None]
        assert body["events"] == [{"msg_id": "ev-1", "event": "rrt-call"}]
        assert body["chart"]["id"] == "news2"
        (patient_id, since), *_ = history.asked
        assert patient_id == "P1"
        assert history.viewers[:3] == ["unauthenticated@127.0.0.1"] * 3  # who read it, audited
        assert abs((datetime.now(UTC) - since) - timedelta(hours=6)) < timedelta(minutes=1)
        empty = await board.client.get(f"/api/wards/{WARD}/beds/99/history")
        assert empty.status_code == 404
        bands = (await board.client.get("/api/charts/news2")).json()
        resp_rate = next(item for item in bands["items"] if item["key"] == "resp_rate")
        first = resp_rate["variants"][0]["bands"][0]
        assert (first["high"], first["high_inclusive"], first["points"]) == (8, True, 3)
        assert (await board.client.get("/api/charts/nope")).status_code == 404
        report = await board.client.get(
            "/api/report?hours=2&until=2026-11-23T08:00:00Z&ward=7A&ward=8B"
        )
        assert report.json() == {
            "since": "2026-11-23T06:00:00+00:00",
            "until": "2026-11-23T08:00:00+00:00",
            "wards": ["7A", "8B"],
        }
        naive = await board.client.get("/api/report?until=2026-11-23T08:00:00")
        assert naive.status_code == 400
        refused = await board.client.get("/api/report?until=1999-01-01T00:00:00Z")
        assert (refused.status_code, refused.json()["detail"]) == (400, "too far back")
    async with running(mosquitto) as board:  # no store: said so
        await admit_and_score(board)
        await until(lambda: _has_score(board))
        response = await board.client.get(f"/api/wards/{WARD}/beds/12/history")
        assert response.status_code == 503
        assert "no store" in response.json()["detail"]


ORIGIN_URL = re.compile(r"https?://[^\s\"'`)]*")


async def test_pages_and_assets_are_served_with_no_external_url(mosquitto: Mosquitto) -> None:
    async with running(mosquitto) as board:
        for path in ("/", f"/wards/{WARD}", f"/wards/{WARD}/beds/12", "/outreach"):
            response = await board.client.get(path)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/html")
            assert "default-src 'self'" in response.headers["content-security-policy"]
            for asset in re.findall(r'(?:href|src)="([^"]+)"', response.text):
                assert asset.startswith("/"), asset  # same origin
                assert (await board.client.get(asset)).status_code == 200
        for path in ("/", "/wards/x", "/outreach", "/static/app.css", "/static/ward.js"):
            text = (await board.client.get(path)).text
            assert ORIGIN_URL.findall(text) == [], path


# Issue 12: `history?hours=nan` was a 500. Every number a query expects is checked: 400, said.
BAD_HOURS = [
    ("nan", "is 'nan': expected a finite number (not nan or infinity)"),
    ("NaN", "expected a finite number"),
    ("inf", "is 'inf': expected a finite number"),
    ("-inf", "expected a finite number"),
    ("1e309", "is '1e309': expected a finite number"),
    ("-1", "is '-1': expected a number greater than 0"),
    ("0", "expected a number greater than 0"),
    ("", "is '': expected a number"),
    ("six", "is 'six': expected a number"),
    ("9" * 500, "(500 characters)"),
]


async def test_a_query_number_that_is_not_a_finite_positive_number_is_a_400(
    mosquitto: Mosquitto,
) -> None:
    async with running(mosquitto, history=FakeHistory()) as board:
        await admit_and_score(board)
        await until(lambda: _has_score(board))
        for base in (f"/api/wards/{WARD}/beds/12/history", "/api/report"):
            for hours, says in BAD_HOURS:
                response = await board.client.get(base, params={"hours": hours})
                assert response.status_code == 400, (base, hours, response.text)
                detail = response.json()["detail"]
                assert detail.startswith("query parameter `hours`"), detail
                assert says in detail, (base, hours, detail)
                assert len(detail) < 200
            for hours in ("0.5", "6", "1e6"):  # finite and positive: clamped to the range
                response = await board.client.get(base, params={"hours": hours})
                assert response.status_code == 200, (base, hours, response.text)
        history = await board.client.get(
            f"/api/wards/{WARD}/beds/12/history", params={"hours": "1e6"}
        )
        assert history.json()["hours"] == 168
        for when, says in [
            ("yesterday", "query parameter `until` is 'yesterday'"),
            ("0001-01-01T00:00:00Z", "`until` 0001-01-01T00:00:00+00:00 is too early"),
        ]:
            response = await board.client.get("/api/report", params={"until": when})
            assert response.status_code == 400, response.text
            assert says in response.json()["detail"]
