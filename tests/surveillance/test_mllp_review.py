"""Review of `surveillance mllp` (issue 17 item 1): what an unlucky or hostile sender found.

Each test names the promise of the README section "HL7 v2 over MLLP" that it checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from surveillance import MllpListener
from tests.mqtt_broker import Mosquitto
from tests.surveillance.test_mllp import (
    adt,
    client,
    err_code,
    listener_settings,
    msa,
    oru,
    serving,
    w,
)
from tests.surveillance.test_pipeline import listening

pytestmark = pytest.mark.mqtt


async def test_an_update_does_not_put_a_patient_back_in_a_bed_given_to_another(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """A08 "is applied only where this listener last placed the patient": once another
    patient is admitted to that bed, the first is no longer there (the scorer discharges them,
    "bed reassigned"), so an A08 naming it must not re-admit them and evict the second."""
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    here = f"PAS-{ward}"
    async with (
        listening(mosquitto, f"wards/{ward}/#") as heard,
        serving(listener_settings(mosquitto.url, tmp_path, ward)) as listener,
        client(listener) as pas,
    ):
        first = adt("A01", f"{ward}-1", f"{here}^1^1", when=now, patient="P1")
        assert msa(await pas.send(first))[0] == "AA"
        second = adt("A01", f"{ward}-2", f"{here}^1^1", when=now, patient="P2")
        assert msa(await pas.send(second))[0] == "AA"
        update = adt("A08", f"{ward}-3", f"{here}^1^1", when=now, patient="P1")
        ack = await pas.send(update)
        await heard.wait(lambda h: len(h.on("/adt")) >= 2)
        await asyncio.sleep(0.3)
        published = [(d["msg_id"], d["patient_id"]) for d in heard.on("/adt")]
        assert published == [(f"{ward}-1", "P1"), (f"{ward}-2", "P2")], msa(ack)
        assert "no bed to update" in msa(ack)[2]


async def test_a_repeat_of_an_accepted_message_is_aa_even_after_max_age(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Promise: "a repeat of an accepted MSH-10 with the same content is answered AA again and not
    published twice, also after a restart": a PAS that resends (it never got the ACK) after
    `scorer.max_age` gets AR `time` and a dead letter for a message that was published."""
    ward = w()
    start = datetime.now(UTC).replace(microsecond=0)
    clock = [start]
    settings = listener_settings(mosquitto.url, tmp_path, ward)
    message = adt("A01", f"{ward}-1", f"PAS-{ward}^1^1", when=start)
    async with MllpListener(settings, clock=lambda: clock[0]) as listener:
        await asyncio.wait_for(listener.wait_broker(), 10)
        async with client(listener) as pas:
            assert msa(await pas.send(message))[0] == "AA"
            clock[0] = start + timedelta(seconds=settings.scorer.max_age + 60)
            ack = await pas.send(message)
            assert msa(ack)[0] == "AA", msa(ack)[2]
            assert "repeat" in msa(ack)[2]


@pytest.mark.xfail(
    strict=True,
    reason="review-mllp finding: duplicates are keyed by MSH-10 alone, not (MSH-3, MSH-4, "
    "MSH-10); the scorer dedupes by msg_id too, so the fix needs a namespaced msg_id",
)
async def test_two_senders_may_use_the_same_control_id(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """HL7 v2.5 2.14.9.10: MSH-10 is unique within the sending system (MSH-3/4). A PAS and a
    monitor gateway that both number their messages 1, 2, 3 ... must not refuse each other's
    messages as `conflict` (nor can one sender squat another's ids to block it)."""
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    here = f"PAS-{ward}"
    async with (
        serving(listener_settings(mosquitto.url, tmp_path, ward)) as listener,
        client(listener) as pas,
        client(listener) as gateway,
    ):
        assert msa(await pas.send(adt("A01", "1", f"{here}^1^1", when=now)))[0] == "AA"
        ack = await gateway.send(oru("1", f"{here}^^1", when=now + timedelta(seconds=1)))
        assert msa(ack)[0] == "AA", (err_code(ack), msa(ack)[2])


async def test_the_journal_keeps_a_refusal_without_its_whole_quoted_input(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Every refusal is journaled (also past the dead-letter limit), and a reason may quote
    the input: a 200 KB PV1-3 must not cost 200 KB of journal a refusal (a sender could fill
    the disk, and then every message is AE)."""
    ward = w()
    now = datetime.now(UTC).replace(microsecond=0)
    settings = listener_settings(mosquitto.url, tmp_path, ward)
    async with serving(settings) as listener, client(listener) as pas:
        ack = await pas.send(adt("A01", f"{ward}-1", "X" * 200_000 + "^1^1", when=now))
        assert (msa(ack)[0], err_code(ack)) == ("AR", "placement")
    with contextlib.closing(sqlite3.connect(settings.mllp.journal)) as db:
        [(reason,)] = db.execute("SELECT reason FROM refused").fetchall()
    assert reason.startswith("HL7: PV1-3 point of care 'XXX")
    assert len(reason) <= 4000
