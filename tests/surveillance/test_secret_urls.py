"""A store password given in the URL's query (libpq reads `?password=` and `?sslpassword=` as
well as `user:password@`) stays out of the log line the service starts with, of the store's
repr, of its `/healthz` info and of its error messages (review of issue 14: logs never carry
secrets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveillance import load_settings
from surveillance.store import PostgresStore

URLS = [
    "postgresql://svc@db.example:5432/wards?password=s3cret-q&sslmode=require",
    "postgresql://svc@db.example/wards?sslmode=verify-full&sslpassword=s3cret-key",
    "postgres://svc:s3cret-u@db.example/wards?PASSWORD=s3cret-q",
]


@pytest.mark.parametrize("url", URLS)
def test_a_password_in_the_store_urls_query_is_never_described(tmp_path: Path, url: str) -> None:
    path = tmp_path / "service.toml"
    path.write_text(f"[store]\nurl = '{url}'\n")
    described = load_settings(path).describe()
    assert "s3cret" not in described
    assert "***" in described


@pytest.mark.parametrize("url", URLS)
def test_a_password_in_the_store_urls_query_is_not_in_the_stores_repr_or_health(
    url: str,
) -> None:
    store = PostgresStore(url)  # not opened: nothing is connected
    shown = repr(store) + str(store.store_info)
    assert "s3cret" not in shown
    assert "db.example" in shown  # still says where the store is


def test_a_url_without_a_secret_is_shown_as_written() -> None:
    url = "postgresql://svc@db.example/wards?sslmode=require&application_name=x"
    assert PostgresStore(url).store_info["url"] == url
