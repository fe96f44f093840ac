from __future__ import annotations

import pytest

from scoring import ChartSet, load_charts

pytest_plugins = ["tests.mqtt_broker", "tests.nats_broker", "tests.postgres"]


@pytest.fixture(scope="session")
def charts() -> ChartSet:
    """The shipped charts."""
    return load_charts()
