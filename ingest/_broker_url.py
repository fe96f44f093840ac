"""Where the MQTT broker is and how to log in: `mqtt://[user[:password]@]host[:port]`.

Read by the service's settings and command line; used by the service's link (`BrokerLink`) and
by the simulators' publisher: the one spelling of a broker address.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

_SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True}
_FORM = "mqtt://[user[:password]@]host[:port] (or mqtts:// for TLS, tcp:// = mqtt://)"


@dataclass(frozen=True)
class BrokerURL:
    """Where the broker is and how to log in; `repr` and `str` never show the password.

    Attributes:
        host: host name or IP address.
        port: TCP port (1883 by default, 8883 with TLS).
        username: user name, if the broker wants one.
        password: password, if the broker wants one.
        tls: connect over TLS (`mqtts://`), checking the broker's certificate.
        ca_file: with TLS, trust the certificate authorities in this PEM file (a hospital's
            private CA) instead of the system's.
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None

    def tls_context(self) -> ssl.SSLContext | None:
        """With TLS, a client context that checks the broker's certificate and host name
        (against `ca_file`, else the system's authorities); None without TLS."""
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=self.ca_file)

    def __str__(self) -> str:
        """The URL without the password, for messages and logs."""
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}"


def parse_broker_url(text: str) -> BrokerURL:
    """Read a broker URL: `mqtt://host[:port]`, `mqtts://...`, `mqtt://user:pass@host:port`.

    `tcp://` means the same as `mqtt://`. User name and password may be percent-encoded.

    Raises:
        ValueError: the text is not of that form (the message says what is expected).
    """
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        scheme not in _SCHEMES
        or not parts.hostname
        or port == -1
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        msg = f"broker URL {_shown(text)!r} not understood; expected {_FORM}"
        raise ValueError(msg)
    tls = _SCHEMES[scheme]
    return BrokerURL(
        host=parts.hostname,
        port=port if port is not None else (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
    )


def _shown(text: str) -> str:
    """`text` as a message may quote it: the password, if any, replaced by `***` (a URL
    refused for its port or path still carries the password it was given)."""
    netloc = urlsplit(text).netloc
    user, at, host = netloc.rpartition("@")
    if not at or ":" not in user:
        return text
    return text.replace(netloc, f"{user.partition(':')[0]}:***@{host}", 1)
