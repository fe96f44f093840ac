"""Review of `surveillance mllp` (issue 17 item 1): a listener that cannot start says why."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from surveillance.cli import main

pytestmark = pytest.mark.mqtt  # the port case begins a broker connection before it fails

SETTINGS = """
[broker]
url = "mqtt://127.0.0.1:1"
[mllp]
port = {port}
journal = "{journal}"
[[mllp.locations]]
point_of_care = "W"
ward = "W"
cohort = "adult"
"""


@pytest.mark.parametrize(
    "trouble",
    [
        "journal",
        # The port fails after the broker connection has begun: cancelling it mid-connect
        # leaves paho's socket to the garbage collector (a ResourceWarning, at exit only).
        pytest.param(
            "port",
            marks=pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
        ),
    ],
)
def test_a_journal_or_port_it_cannot_have_is_a_clear_error_not_a_traceback(
    trouble: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal on a disk it cannot write (here: under a file), or a port already taken:
    exit status 1 and one line saying what, not a Python traceback."""
    (tmp_path / "file").touch()
    journal = tmp_path / ("file" if trouble == "journal" else "dir") / "journal.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1] if trouble == "port" else 0
        config = tmp_path / "s.toml"
        config.write_text(SETTINGS.format(port=port, journal=journal))
        assert main(["mllp", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("surveillance mllp: cannot start:")
    assert "Traceback" not in err
