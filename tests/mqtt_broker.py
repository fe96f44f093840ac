"""A private Mosquitto broker for the test session (registered in conftest.py's `pytest_plugins`).

Tests never touch a broker already running on the machine: the fixture starts its own on a
free port of 127.0.0.1 and stops it at the end of the session. Retained messages and the
sessions of clients with `clean_session=False` are saved in a temporary directory, so
`restart()` behaves like the restart of a production broker: they survive it.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MOSQUITTO = "/usr/sbin/mosquitto"
INSTALL = "install it with `apt-get install mosquitto` (Debian/Ubuntu) or `brew install mosquitto`"


class BrokerProcess:
    """A broker run as a child process from a configuration file, logging to a file: started
    and waited for until it listens on `host:port`, stopped with SIGTERM (so it saves its
    state). Subclasses set `_executable`, `_conf`, `_log` and `port`."""

    host = "127.0.0.1"
    name = "broker"
    ready_timeout = 10.0
    stop_timeout = 10.0
    _executable: str
    _conf: Path
    _log: Path
    port: int
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """`mqtt://127.0.0.1:PORT`."""
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        """Start the broker and wait until it accepts connections on `port`."""
        self._process = subprocess.Popen(
            [self._executable, "-c", str(self._conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                pytest.fail(
                    f"{self.name} exited with code {self._process.returncode}: {self._tail()}"
                )
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
            except OSError:
                time.sleep(0.02)
            else:
                return
        self._give_up()
        pytest.fail(
            f"{self.name} did not listen on {self.host}:{self.port} in "
            f"{self.ready_timeout:.0f} s: {self._tail()}"
        )

    def _give_up(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the broker (SIGTERM, so it saves its state), waiting until it has exited."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _tail(self) -> str:
        text = self._log.read_text(errors="replace") if self._log.exists() else ""
        return text[-2000:] or "(empty log)"


class Mosquitto(BrokerProcess):
    """A mosquitto process listening on `host:port`, that can be stopped and started again."""

    name = "mosquitto"

    def __init__(self, executable: str, workdir: Path) -> None:
        self.port = _free_port()
        self._executable = executable
        self._log = workdir / "mosquitto.log"
        self._conf = workdir / "mosquitto.conf"
        self._conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            f"user {getpass.getuser()}\n"  # run as root, mosquitto would switch to a user that cannot write here
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "autosave_interval 0\n"  # saved on exit only
            "max_queued_messages 0\n"  # no limit: a slow test subscriber must not lose messages
            "max_inflight_messages 100\n"
            f"log_dest file {self._log}\n"
            "log_type error\n"
            "log_type warning\n"
            "connection_messages false\n"
        )
        self._process: subprocess.Popen[bytes] | None = None

    def restart(self) -> None:
        """Stop the broker and start it again on the same port."""
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A private broker for the whole session; `.host`, `.port`, `.url`, `.restart()`."""
    executable = MOSQUITTO if Path(MOSQUITTO).exists() else shutil.which("mosquitto")
    if executable is None:
        pytest.fail(
            f"the MQTT tests need the mosquitto broker, not found at {MOSQUITTO}: {INSTALL}"
        )
    broker = Mosquitto(executable, tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
