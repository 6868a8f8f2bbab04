"""Broker URLs: the one form the hub, firmware and tools are configured with."""

import dataclasses

import pytest

from devices.transport import BrokerEndpoint, BrokerUrlError, MqttProtocol


def test_plain_mqtt_url_uses_the_default_port_and_mqtt_5() -> None:
    endpoint = BrokerEndpoint.from_url("mqtt://broker.office.lan")

    assert endpoint == BrokerEndpoint(host="broker.office.lan", port=1883)
    assert endpoint.tls is False
    assert endpoint.protocol is MqttProtocol.V5
    assert endpoint.username is None
    assert endpoint.password is None


def test_mqtts_means_tls_on_port_8883() -> None:
    endpoint = BrokerEndpoint.from_url("mqtts://broker.office.lan")

    assert endpoint.tls is True
    assert endpoint.port == 8883


@pytest.mark.parametrize(("url", "port"), [("mqtt://h:1884", 1884), ("mqtts://h:443", 443), ("mqtt://h:", 1883)])
def test_an_explicit_port_wins(url: str, port: int) -> None:
    assert BrokerEndpoint.from_url(url).port == port


def test_credentials_are_percent_decoded() -> None:
    endpoint = BrokerEndpoint.from_url("mqtts://hub%40atrium:p%40ss%3Aw0rd%2F%25@broker.office.lan:8884")

    assert endpoint.username == "hub@atrium"
    assert endpoint.password == "p@ss:w0rd/%"
    assert endpoint.host == "broker.office.lan"
    assert endpoint.port == 8884


def test_username_without_password() -> None:
    endpoint = BrokerEndpoint.from_url("mqtt://kiosk@h")

    assert endpoint.username == "kiosk"
    assert endpoint.password is None


@pytest.mark.parametrize(
    ("query", "protocol"), [("?protocol=3.1.1", MqttProtocol.V311), ("?protocol=5", MqttProtocol.V5)]
)
def test_protocol_is_chosen_by_the_query(query: str, protocol: MqttProtocol) -> None:
    assert BrokerEndpoint.from_url(f"mqtt://127.0.0.1:1883{query}").protocol is protocol


def test_ipv6_host() -> None:
    endpoint = BrokerEndpoint.from_url("mqtt://[::1]:1884")

    assert endpoint.host == "::1"
    assert endpoint.port == 1884


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://broker.office.lan", "must start with mqtt:// or mqtts://"),
        ("broker.office.lan:1883", "must start with mqtt:// or mqtts://"),
        ("ws://broker.office.lan", "must start with mqtt:// or mqtts://"),
        ("mqtt://", "names no host"),
        ("mqtt://:1883", "names no host"),
        ("mqtt://user@", "names no host"),
        ("mqtt://h:abc", "bad port"),
        ("mqtt://h:70000", "bad port"),
        ("mqtt://h:-1", "bad port"),
        ("mqtt://h:0", "bad port"),
        ("mqtt://h?protocol=4", "protocol must be 5 or 3.1.1"),
        ("mqtt://h?protocol=3.1", "protocol must be 5 or 3.1.1"),
        ("mqtt://h?protocl=3.1.1", "unknown option 'protocl'"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(BrokerUrlError) as caught:
        BrokerEndpoint.from_url(url)

    assert reason in str(caught.value)
    assert repr(url) in str(caught.value)


def test_errors_do_not_repeat_the_password() -> None:
    with pytest.raises(BrokerUrlError) as caught:
        BrokerEndpoint.from_url("mqtt://hub:s3cr%40t@h:abc")

    assert "s3cr" not in str(caught.value)
    assert "hub:***@h:abc" in str(caught.value)


def test_url_hides_the_password() -> None:
    endpoint = BrokerEndpoint.from_url("mqtt://hub:s3cret@broker.office.lan:1884?protocol=3.1.1")

    assert "s3cret" not in endpoint.url
    assert "s3cret" not in repr(endpoint)
    assert endpoint.password == "s3cret"
    assert BrokerEndpoint.from_url(endpoint.url) == dataclasses.replace(endpoint, password=None)


@pytest.mark.parametrize(
    "url",
    [
        "mqtt://h",
        "mqtts://broker.office.lan:9999",
        "mqtt://127.0.0.1:1883?protocol=3.1.1",
        "mqtt://hub%40atrium:x@h",
        "mqtt://ops%3Ateam:x@h",
        "mqtts://[::1]:8884",
    ],
)
def test_url_reads_back_as_the_same_endpoint(url: str) -> None:
    endpoint = dataclasses.replace(BrokerEndpoint.from_url(url), password=None)

    assert BrokerEndpoint.from_url(endpoint.url) == endpoint
