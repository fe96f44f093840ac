"""Private PostgreSQL databases for tests (a plugin: `pytest_plugins = ["tests.postgres"]`).

Tests never touch an existing database: each session creates `surveillance_test_<8 hex>` on the
server named by `SURVEILLANCE_TEST_PG` (default the local cluster) and drops it at the end, and
`fresh_postgres_url` gives one test a database of its own, so tests never collide with each
other or with other runs on the machine.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
START = (
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
    "or point SURVEILLANCE_TEST_PG at another server (postgresql://user@host:port/db)"
)


def server_url() -> str:
    """The maintenance database URL of the test server."""
    return os.environ.get("SURVEILLANCE_TEST_PG", DEFAULT_SERVER)


def with_database(url: str, name: str) -> str:
    """`url` naming database `name` instead."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(server_url(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        pytest.fail(f"PostgreSQL test server unreachable ({e}); {START}", pytrace=False)


def create_database() -> str:
    """Create an empty database with a fresh name; its URL."""
    name = f"surveillance_test_{uuid.uuid4().hex[:8]}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url(), name)


def drop_database(url: str) -> None:
    """Drop the database of `url`, disconnecting whoever still uses it."""
    name = urlsplit(url).path.lstrip("/")
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of the test session, dropped at its end."""
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A database of this test only (empty: no schema yet), dropped after it."""
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store of this test, on each backend: a SQLite file, and a
    PostgreSQL database of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url
