"""The open NATS configuration as shipped (review of issue 14).

Issue 14's lock-down is `config/nats-server-secure.conf` (and `mosquitto-secure.conf`); the
open `config/nats-server.conf` stays for development, but the README's broker table and its
architecture block still call it the production broker, and its MQTT listener is on
0.0.0.0: any host on the network may read every observation and forge heartbeats, scores and
acknowledgements there (tests/nats_broker.py runs it with ports rewritten, so the tests never
see the 0.0.0.0). The open Mosquitto configuration has no listener line (Mosquitto 2 then
listens on the loopback only) and the demo's broker binds 127.0.0.1. Fixed: the open NATS
configuration listens on the loopback only.
"""

from __future__ import annotations

import re

from tests import ROOT

OPEN_NATS = ROOT / "config" / "nats-server.conf"


def test_the_open_nats_configuration_is_reachable_from_this_host_only() -> None:
    text = OPEN_NATS.read_text()
    authorised = re.search(r"^\s*(authorization|accounts)\s*[{:]", text, re.MULTILINE)
    mqtt = re.search(r"^mqtt\s*\{[^}]*?^\s*listen:\s*(\S+)", text, re.MULTILINE | re.DOTALL)
    assert mqtt is not None, "no MQTT listener found: the test no longer reads this file"
    host = mqtt.group(1).rsplit(":", 1)[0]
    assert authorised or host in ("127.0.0.1", "localhost", "[::1]"), f"MQTT on {host}"
