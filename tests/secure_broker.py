"""A mosquitto started from deploy/mosquitto-secure.conf with provisioned accounts, and a client that logs in."""

import dataclasses
import getpass
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from devices.site import Building
from devices.transport import BrokerEndpoint, MqttProtocol
from hub.certs import SiteCertificates
from hub.mqtt.embedded_broker import free_port
from hub.provisioning import BrokerFiles, Provisioned, provision, write_broker_files
from hub.runtime import Database
from tests.brokers import MosquittoBroker

SECURE_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "mosquitto-secure.conf"


class SecureMosquitto(MosquittoBroker):
    """The shipped secure configuration with this test's ports, account files and certificates."""

    def __init__(self, binary: str, workdir: Path, files: BrokerFiles, certs: SiteCertificates | None = None) -> None:
        self.files = files
        self.certs = certs
        self.tls_port = free_port()
        self.pid_file = workdir / "mosquitto.pid"
        super().__init__(binary, workdir)

    @property
    def tls_endpoint(self) -> BrokerEndpoint:
        assert self.certs is not None
        return BrokerEndpoint(host="127.0.0.1", port=self.tls_port, tls=True, ca_file=str(self.certs.ca.certificate))

    def _write_config(self) -> None:
        replacements = {
            "password_file": str(self.files.password_file),
            "acl_file": str(self.files.acl_file),
            "pid_file": str(self.pid_file),
            "persistence_location": f"{self.workdir}/",
        }
        if self.certs is not None:
            replacements |= {
                "cafile": str(self.certs.ca.certificate),
                "certfile": str(self.certs.server.certificate),
                "keyfile": str(self.certs.server.key),
            }
        lines = []
        for line in SECURE_CONFIG.read_text().splitlines():
            key = line.split(" ", 1)[0]
            if line.startswith("listener 1883"):
                line = f"listener {self.port} 127.0.0.1"
            elif line.startswith("listener 8883"):
                line = f"listener {self.tls_port} 127.0.0.1"
            elif key in replacements:
                line = f"{key} {replacements[key]}"
            if self.certs is None and (
                line.startswith(f"listener {self.tls_port}") or key in ("cafile", "certfile", "keyfile", "tls_version")
            ):
                continue
            lines.append(line)
        lines.append(f"log_dest file {self.log_path}")
        lines.append(f"user {getpass.getuser()}")
        self.config_path.write_text("\n".join(lines) + "\n")


def provision_site(database_url: str, building: Building, folder: Path, *, rotate: Iterable[str] = ()) -> Provisioned:
    """Provision the building's accounts in the database and write the broker files to ``folder``."""
    database = Database.open(database_url)
    try:
        with database.sessions.begin() as session:
            done = provision(
                session,
                device_ids=[spec.id for _, _, spec in building.devices()],
                rotate=set(rotate),
                actor="test",
                now=datetime.now(UTC),
            )
            write_broker_files(session, BrokerFiles(folder), site_id=building.site.id, new_passwords=done.passwords)
        return done
    finally:
        database.close()


def logged_in(endpoint: BrokerEndpoint, username: str | None, password: str | None) -> BrokerEndpoint:
    """``endpoint`` with a login."""
    return dataclasses.replace(endpoint, username=username, password=password)


class Client:
    """A paho client that logs in as someone and keeps what it receives, for asserting on what arrives."""

    def __init__(self, endpoint: BrokerEndpoint, client_id: str) -> None:
        protocol = paho.MQTTv5 if endpoint.protocol is MqttProtocol.V5 else paho.MQTTv311
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        if endpoint.username is not None:
            self.client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            self.client.tls_set(ca_certs=endpoint.ca_file)
        self.endpoint = endpoint
        self.received: list[tuple[str, bytes]] = []
        self.connect_reason: ReasonCode | None = None
        self.granted: list[list[ReasonCode]] = []
        self.disconnected = threading.Event()
        self._answered = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.disconnected.set()
        self.client.on_message = lambda _c, _u, message: self.received.append((message.topic, bytes(message.payload)))
        self.client.on_subscribe = lambda _c, _u, _mid, reasons, _p: self.granted.append(list(reasons))

    def connect(self, timeout: float = 10.0) -> bool:
        """Connect and wait for the CONNACK; whether the broker accepted."""
        self.client.connect(self.endpoint.host, self.endpoint.port, keepalive=30)
        self.client.loop_start()
        self._answered.wait(timeout)
        return self.connect_reason is not None and not self.connect_reason.is_failure

    def subscribe(self, topic: str, timeout: float = 10.0) -> list[ReasonCode]:
        """Subscribe with QoS 1 and wait for the SUBACK's reason codes."""
        before = len(self.granted)
        self.client.subscribe(topic, qos=1)
        deadline = threading.Event()
        for _ in range(int(timeout / 0.05)):
            if len(self.granted) > before:
                return self.granted[before]
            deadline.wait(0.05)
        raise AssertionError(f"no SUBACK for {topic}")

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 and wait for the broker's PUBACK (which a denied publish gets too)."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, _c: paho.Client, _u: object, _flags: object, reason: ReasonCode, _props: object) -> None:
        self.connect_reason = reason
        self._answered.set()
