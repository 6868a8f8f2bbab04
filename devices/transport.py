"""Where the broker is and how to speak to it: one URL form for the hub, firmware and tools.

``mqtt://user:pass@host:1883`` (``mqtts://`` for TLS). The query ``?protocol=3.1.1`` selects MQTT
3.1.1, which the embedded broker needs; MQTT 5 is the default for real brokers.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qs, quote, unquote, urlsplit


class MqttProtocol(StrEnum):
    """MQTT protocol versions Atrium speaks."""

    V5 = "5"
    V311 = "3.1.1"


class BrokerUrlError(ValueError):
    """A broker URL that cannot be used, with the reason."""


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    """A broker's address, credentials and protocol."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    protocol: MqttProtocol = MqttProtocol.V5
    ca_file: str | None = None
    """The CA certificate(s) that ``mqtts://`` trusts (the site CA); ``None``: the system's CAs."""

    @classmethod
    def from_url(cls, url: str) -> "BrokerEndpoint":
        """Parse ``mqtt[s]://[user[:pass]@]host[:port][?protocol=5|3.1.1]``."""
        parts = urlsplit(url)
        shown = url.replace(f":{parts.password}@", ":***@", 1) if parts.password else url
        if parts.scheme not in ("mqtt", "mqtts"):
            raise BrokerUrlError(f"broker URL {shown!r} must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise BrokerUrlError(f"broker URL {shown!r} names no host")
        tls = parts.scheme == "mqtts"
        try:
            given_port = parts.port
        except ValueError:
            given_port = 0
        if given_port == 0:
            raise BrokerUrlError(f"broker URL {shown!r} has a bad port")
        port = given_port or (8883 if tls else 1883)
        query = parse_qs(parts.query)
        if unknown := sorted(set(query) - {"protocol"}):
            raise BrokerUrlError(f"broker URL {shown!r}: unknown option {unknown[0]!r}")
        try:
            protocol = MqttProtocol(query.get("protocol", ["5"])[0])
        except ValueError:
            raise BrokerUrlError(f"broker URL {shown!r}: protocol must be 5 or 3.1.1") from None
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            protocol=protocol,
        )

    @property
    def url(self) -> str:
        """The URL form, without the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{quote(self.username, safe='')}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "?protocol=3.1.1" if self.protocol is MqttProtocol.V311 else ""
        return f"{scheme}://{user}{host}:{self.port}{query}"
