"""Device identity against real brokers: Mosquitto with deploy/mosquitto-secure.conf, and the embedded broker.

Assertions are on what arrives at a subscriber, never on what the publisher was told: Mosquitto
acknowledges a denied publish (under 3.1.1 with success) and then, in 2.0, drops the connection.
"""

import dataclasses
import logging
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from devices.site import synthetic_building
from devices.topics import Channel, device_topic
from devices.transport import BrokerEndpoint, MqttProtocol
from firmware_sim.cli import app as sim_app
from firmware_sim.fleet import Fleet, FleetThread
from hub.certs import make_site_certificates
from hub.cli import app
from hub.mqtt.broker_auth import HUB_USERNAME
from hub.mqtt.embedded_broker import EmbeddedBroker, free_port
from hub.provisioning import BrokerFiles, read_credentials
from hub.runtime import Hub
from hub.settings import Settings
from hub.store.models import DeviceMessage
from tests.brokers import mosquitto_binary
from tests.helpers import wait_for
from tests.secure_broker import Client, SecureMosquitto, logged_in, provision_site

BUILDING = synthetic_building(3)
SITE = BUILDING.site.id
A, B, C = (spec.id for _, _, spec in BUILDING.devices())


@dataclass
class GuardedSite:
    """A provisioned site and a broker enforcing its accounts."""

    kind: str
    endpoint: BrokerEndpoint
    """Where to connect, with no login."""
    hub_endpoint: BrokerEndpoint
    """The same, logged in as the hub."""
    files: BrokerFiles
    database_url: str
    pid_file: Path | None
    mosquitto: SecureMosquitto | None = None

    def login(self, device_id: str) -> BrokerEndpoint:
        return logged_in(self.endpoint, device_id, read_credentials(self.files.credentials_file)[device_id])


@pytest.fixture(params=["mosquitto", "embedded"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GuardedSite]:
    database_url = f"sqlite:///{tmp_path / 'atrium.db'}"
    files = BrokerFiles(tmp_path / "mqtt")
    provision_site(database_url, BUILDING, files.folder)
    if request.param == "embedded":
        embedded = EmbeddedBroker(port=free_port(), password_file=files.password_file, acl_file=files.acl_file)
        hub_endpoint = embedded.start()
        yield GuardedSite(
            "embedded",
            dataclasses.replace(hub_endpoint, username=None, password=None),
            hub_endpoint,
            files,
            database_url,
            None,
        )
        embedded.stop()
        return
    binary = mosquitto_binary()
    if binary is None:
        pytest.skip("mosquitto is not installed")
    certs = make_site_certificates(tmp_path / "certs", site=SITE, hosts=["127.0.0.1"])
    broker = SecureMosquitto(binary, tmp_path, files, certs)
    broker.start()
    hub_password = files.hub_password_file.read_text().strip()
    yield GuardedSite(
        "mosquitto",
        broker.endpoint,
        logged_in(broker.endpoint, HUB_USERNAME, hub_password),
        files,
        database_url,
        broker.pid_file,
        broker,
    )
    broker.kill()


def connected(endpoint: BrokerEndpoint, client_id: str) -> Client:
    client = Client(endpoint, client_id)
    assert client.connect(), f"{client_id} refused: {client.connect_reason}"
    return client


@pytest.fixture
def clients() -> Iterator[Callable[[BrokerEndpoint, str], Client]]:
    made: list[Client] = []

    def make(endpoint: BrokerEndpoint, client_id: str) -> Client:
        made.append(connected(endpoint, client_id))
        return made[-1]

    yield make
    for client in made:
        client.close()


PROTOCOLS = [MqttProtocol.V311, MqttProtocol.V5]


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=["3.1.1", "5"])
def test_a_device_can_neither_speak_for_another_nor_hear_its_commands(
    site: GuardedSite, protocol: MqttProtocol, clients: Callable[[BrokerEndpoint, str], Client]
) -> None:
    if site.kind == "embedded" and protocol is MqttProtocol.V5:
        pytest.skip("the embedded broker speaks MQTT 3.1.1 only")

    def use(endpoint: BrokerEndpoint) -> BrokerEndpoint:
        return dataclasses.replace(endpoint, protocol=protocol)

    hub = clients(use(site.hub_endpoint), "hub-watcher")
    hub.subscribe(f"atrium/v1/{SITE}/+/telemetry")
    spy = clients(use(site.login(A)), "device-a")
    spy.subscribe(device_topic(SITE, A, Channel.COMMAND))
    spy.subscribe(device_topic(SITE, B, Channel.COMMAND))  # granted or not, nothing of B's may arrive
    victim = clients(use(site.login(B)), "device-b")
    victim.subscribe(device_topic(SITE, B, Channel.COMMAND))

    spy.publish(device_topic(SITE, A, Channel.TELEMETRY), b"a's own")
    hub.publish(device_topic(SITE, A, Channel.COMMAND), b"for a")
    wait_for(lambda: (device_topic(SITE, A, Channel.TELEMETRY), b"a's own") in hub.received, what="a's telemetry")
    wait_for(lambda: spy.received, what="a's own command")
    spy.publish(device_topic(SITE, B, Channel.TELEMETRY), b"a pretending to be b")
    hub.publish(device_topic(SITE, B, Channel.COMMAND), b"for b only")
    victim.publish(device_topic(SITE, B, Channel.TELEMETRY), b"b's own")
    wait_for(lambda: (device_topic(SITE, B, Channel.TELEMETRY), b"b's own") in hub.received, what="b's telemetry")
    wait_for(lambda: victim.received, what="b's command")

    assert b"a pretending to be b" not in [payload for _, payload in hub.received]
    assert spy.received == [(device_topic(SITE, A, Channel.COMMAND), b"for a")]
    assert victim.received == [(device_topic(SITE, B, Channel.COMMAND), b"for b only")]


def test_a_wrong_password_a_stranger_and_no_login_are_refused_at_connect(site: GuardedSite) -> None:
    for username, password in ((A, "not-the-password"), ("stranger", "x"), (None, None), (HUB_USERNAME, "guess")):
        client = Client(logged_in(site.endpoint, username, password), "intruder")
        try:
            assert not client.connect(timeout=5)
            assert client.connect_reason is not None and client.connect_reason.is_failure
        finally:
            client.close()


def test_a_revoked_device_is_cut_off_within_seconds_and_cannot_come_back(site: GuardedSite) -> None:
    endpoint = site.login(C)
    device = connected(endpoint, "device-c")
    try:
        command = ["devices", "revoke", C, "--database-url", site.database_url, "--out", str(site.files.folder)]
        command += ["--building", "synthetic:3"]
        if site.pid_file is not None:
            command += ["--pid-file", str(site.pid_file)]
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
        assert device.disconnected.wait(5), "the revoked device is still connected"
    finally:
        device.close()
    again = Client(endpoint, "device-c-again")
    try:
        assert not again.connect(timeout=5)
    finally:
        again.close()


def test_tls_works_with_the_site_ca_and_is_refused_without_it(site: GuardedSite) -> None:
    if site.mosquitto is None:
        pytest.skip("the embedded broker has no TLS listener")
    trusted = site.mosquitto.tls_endpoint
    client = Client(logged_in(trusted, A, read_credentials(site.files.credentials_file)[A]), "tls-device")
    try:
        assert client.connect()
    finally:
        client.close()
    untrusting = Client(logged_in(dataclasses.replace(trusted, ca_file=None), A, "irrelevant"), "tls-stranger")
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusting.connect()


def test_provisioned_simulated_devices_are_stored_by_a_hub_logged_in_as_itself(
    site: GuardedSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hub")
    caplog.set_level(logging.DEBUG, logger="firmware_sim")
    if site.mosquitto is not None:  # everything over mqtts:// with the site CA
        tls = site.mosquitto.tls_endpoint
        device_side = tls
        hub_password = site.files.hub_password_file.read_text().strip()
        settings = Settings(
            database_url=site.database_url,
            building="synthetic:3",
            mqtt_url=f"mqtts://{HUB_USERNAME}:{hub_password}@127.0.0.1:{tls.port}",
            mqtt_ca_file=tls.ca_file,
        )
    else:
        device_side = site.endpoint  # replaced below: the hub starts its own embedded broker from the settings
        settings = Settings(
            database_url=site.database_url,
            building="synthetic:3",
            embedded_mqtt_port=free_port(),
            mqtt_password_file=site.files.password_file,
            mqtt_acl_file=site.files.acl_file,
        )
    hub = Hub(settings)
    hub.start()
    try:
        if site.mosquitto is None:
            assert hub.endpoint is not None
            device_side = dataclasses.replace(hub.endpoint, username=None, password=None)
        fleet = Fleet(
            BUILDING, device_side, interval_s=0.1, messages_per_device=3, credentials=site.files.credentials_file
        )
        stats = FleetThread(fleet).start().join(timeout=60)
        assert stats.telemetry_acknowledged == 9 and stats.connect_failures == 0

        def telemetry_by_device() -> dict[str, int]:
            assert hub.database is not None
            query = (
                sa.select(DeviceMessage.device_id, sa.func.count())
                .where(DeviceMessage.channel == "telemetry")
                .group_by(DeviceMessage.device_id)
            )
            with hub.database.sessions() as session:
                return {device_id: count for device_id, count in session.execute(query).all()}

        wait_for(lambda: telemetry_by_device() == {A: 3, B: 3, C: 3}, timeout=30, what="every reading stored")
    finally:
        hub.stop()
    secrets = [*read_credentials(site.files.credentials_file).values(), settings.mqtt_url or "", hub_login_secret(hub)]
    assert caplog.records, "nothing was logged, so nothing was checked"
    assert not any(secret and secret in caplog.text for secret in secrets)


def hub_login_secret(hub: Hub) -> str:
    return (hub.endpoint.password or "") if hub.endpoint is not None else ""


def test_atrium_sim_logs_each_device_in_with_its_own_credentials_over_tls(site: GuardedSite) -> None:
    if site.mosquitto is None:
        pytest.skip("the embedded broker has no TLS listener")
    tls = site.mosquitto.tls_endpoint
    options = [
        "--devices",
        "3",
        "--count",
        "1",
        "--interval",
        "0.05",
        "--mqtt-url",
        tls.url,
        "--ca-file",
        str(tls.ca_file),
    ]
    refused = CliRunner().invoke(sim_app, options)
    assert refused.exit_code == 1 and "not authori" in refused.output.lower()
    result = CliRunner().invoke(sim_app, [*options, "--credentials", str(site.files.credentials_file)])
    assert result.exit_code == 0, result.output
    assert "6 messages acknowledged" in result.output  # 3 states and 3 readings
