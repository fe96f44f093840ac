"""Shared fixtures, and the markers that let the pure tests run alone in seconds.

Every test that needs something outside the Python process carries a marker, set here from the
fixtures it uses (so a new test cannot forget it) or by its module's `pytestmark` when it starts
processes or brokers itself:

| marker     | needs                                                       |
|------------|-------------------------------------------------------------|
| `mqtt`     | a real MQTT broker (Mosquitto or NATS) started by the test  |
| `postgres` | the PostgreSQL server (a private database per test)         |
| `browser`  | headless Chromium through Playwright                        |
| `process`  | runs the `surveillance` command or the service as a process |

A test with none of them is *pure*, and that is enforced rather than trusted: while it runs,
opening a network connection or starting a process fails the test. `scripts/test -m pure` runs
only those.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, settings

from scoring import ChartSet, load_charts

# No Hypothesis test is timed: on these shared 2-core machines (two pytest workers, other jobs)
# an example can take ten times its usual time, and a deadline then fails a correct test.
# Speed is measured in bench/, not here.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")

pytest_plugins = [
    "tests.mqtt_broker",
    "tests.mqtt_locked",
    "tests.nats_broker",
    "tests.nats_locked",
    "tests.postgres",
]

IO_MARKERS: Final = ("mqtt", "postgres", "browser", "process")
_MARKED_BY_FIXTURE: Final = {
    "mosquitto": "mqtt",
    "locked_mosquitto": "mqtt",
    "locked_nats": "mqtt",
    "locked": "mqtt",
    "nats": "mqtt",
    "postgres_url": "postgres",
    "fresh_postgres_url": "postgres",
    "browser": "browser",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, needs in (
        ("mqtt", "a real MQTT broker (Mosquitto or NATS) started by the test"),
        ("postgres", "the PostgreSQL server"),
        ("browser", "headless Chromium through Playwright"),
        ("process", "runs the surveillance command or service as a process"),
        ("pure", "needs nothing outside the Python process (set automatically)"),
        ("slow", "a whole simulated ward, month or service in-process (set for SLOW_MODULES)"),
    ):
        config.addinivalue_line("markers", f"{name}: {needs}")


SLOW_MODULES: Final = frozenset(
    {  # their pure tests take most of the pure run: `-m "pure and not slow"` leaves them out
        "tests/simulators/test_ward.py",
        "tests/simulators/test_needs.py",
        "tests/surveillance/test_inequity_found.py",
        "tests/surveillance/test_learned_risk.py",
        "tests/surveillance/test_restart.py",
        "tests/wallboard/test_dashboard_api.py",
        "tests/wallboard/test_report_http.py",
        "tests/wallboard/test_routes_auth.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        if item.path.relative_to(root).as_posix() in SLOW_MODULES:
            item.add_marker("slow")
        fixtures = set(getattr(item, "fixturenames", ()))
        for fixture, marker in _MARKED_BY_FIXTURE.items():
            if fixture in fixtures:
                item.add_marker(marker)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("store_url") == "postgres":
            item.add_marker("postgres")
        if not any(item.get_closest_marker(m) for m in IO_MARKERS):
            item.add_marker("pure")


def _refuse(what: str) -> Any:
    def refuse(*args: object, **kwargs: object) -> Any:
        raise AssertionError(
            f"a pure test (no {'/'.join(IO_MARKERS)} marker) tried to {what}: mark it"
        )

    return refuse


@pytest.fixture(autouse=True)
def _pure_means_pure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test marked pure may not reach the network or start a process."""
    if request.node.get_closest_marker("pure") is None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse("open a network connection"))
        patch.setattr(socket.socket, "connect_ex", _refuse("open a network connection"))
        patch.setattr(subprocess.Popen, "__init__", _refuse("start a process"))
        patch.setattr(asyncio, "create_subprocess_exec", _refuse("start a process"))
        yield


@pytest.fixture(scope="session")
def charts() -> ChartSet:
    """The shipped charts."""
    return load_charts()
