"""An embedded MQTT 3.1.1 broker (amqtt) so Atrium runs with nothing installed.

It runs on its own thread and event loop, so it serves the hub, the simulator and any
``mosquitto_sub`` a user points at it, whatever the rest of the process is doing.
"""

import asyncio
import logging
import secrets
import socket
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from devices.transport import BrokerEndpoint, MqttProtocol
from hub.mqtt.broker_auth import HUB_USERNAME, hash_password

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_free(host: str, port: int) -> bool:
    """Whether ``port`` can be bound on ``host``."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


class EmbeddedBroker:
    """amqtt on loopback; :meth:`start` returns the endpoint clients should use.

    With a ``password_file`` and ``acl_file`` (as ``atrium devices provision`` writes them) it lets in
    only those accounts, on their own topics; the hub then logs in with a password made for this run.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        password_file: Path | None = None,
        acl_file: Path | None = None,
    ) -> None:
        self._host = host
        self._wanted_port = port
        self._password_file = password_file
        self._acl_file = acl_file
        self._hub_password = secrets.token_urlsafe(32)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self.endpoint: BrokerEndpoint | None = None

    def start(self, timeout: float = 10.0) -> BrokerEndpoint:
        """Start the broker, on the wanted port or, when that is taken, on a free one."""
        port = self._wanted_port if port_is_free(self._host, self._wanted_port) else free_port(self._host)
        if port != self._wanted_port:
            log.info("port %d is taken; the embedded broker listens on %d instead", self._wanted_port, port)
        ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(port, ready), name="embedded-broker", daemon=True)
        self._thread.start()
        ready.result(timeout=timeout)
        secured = self._password_file is not None
        self.endpoint = BrokerEndpoint(
            host=self._host,
            port=port,
            protocol=MqttProtocol.V311,
            username=HUB_USERNAME if secured else None,
            password=self._hub_password if secured else None,
        )
        return self.endpoint

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the broker down and wait for its thread."""
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _run(self, port: int, ready: "Future[None]") -> None:
        try:
            asyncio.run(self._serve(port, ready))
        except BaseException as error:  # the starting thread must hear about any failure
            if not ready.done():
                ready.set_exception(error)
            else:
                log.exception("embedded broker stopped with an error")

    async def _serve(self, port: int, ready: "Future[None]") -> None:
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self._host}:{port}", "max_connections": 0}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        if self._password_file is not None:
            config["plugins"] = {
                "hub.mqtt.amqtt_plugins.PasswordFileAuthPlugin": {
                    "password_file": str(self._password_file),
                    "extra_users": {HUB_USERNAME: hash_password(self._hub_password)},
                }
            }
        if self._acl_file is not None:
            config["plugins"]["hub.mqtt.amqtt_plugins.AclFileTopicPlugin"] = {"acl_file": str(self._acl_file)}
        broker = _fixed_broker_class()(config)
        await broker.start()
        ready.set_result(None)
        try:
            await self._stopped.wait()
        finally:
            await broker.shutdown()


def _fixed_broker_class() -> type[Any]:
    """amqtt's Broker with one fix, imported late since amqtt is only needed when embedded.

    amqtt 0.12 sends a connecting client the retained messages matching *every* client's
    subscriptions (it walks the broker-wide subscription table), so each device that connects
    receives the state of the whole building. Retained messages go only to the session that
    holds the subscription.
    """
    from amqtt.broker import Broker
    from amqtt.session import Session

    class AtriumBroker(Broker):  # type: ignore[misc]
        async def _publish_retained_messages_for_subscription(
            self, subscription: tuple[str, int], session: Session
        ) -> None:
            holders = self._subscriptions.get(subscription[0], [])
            if any(holder.client_id == session.client_id for holder, _ in holders):
                await super()._publish_retained_messages_for_subscription(subscription, session)

    return AtriumBroker
