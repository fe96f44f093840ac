"""A broker URL refused for its port, path or scheme never quotes its password (review of issue
14: `surveillance simulate --broker mqtt://simulator:PASSWORD@host:99999` printed it)."""

from __future__ import annotations

import pytest

from ingest import parse_broker_url
from surveillance.cli import main


@pytest.mark.parametrize(
    "url",
    [
        "mqtt://simulator:s3cret@host:99999",
        "mqtts://simulator:s3cret@host/path",
        "ftp://simulator:s3cret@host",
        "mqtt://simulator:s3c:ret@host:1?x=1",
    ],
)
def test_a_refused_url_is_quoted_without_its_password(url: str) -> None:
    with pytest.raises(ValueError, match="not understood") as refused:
        parse_broker_url(url)
    assert "s3c" not in str(refused.value)
    assert "simulator:***@host" in str(refused.value)  # still says which URL


def test_simulate_prints_no_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = "mqtt://simulator:s3cret@127.0.0.1:99999"
    assert main(["simulate", "--hours", "1", "--broker", url, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "not understood" in err
    assert "s3cret" not in err
