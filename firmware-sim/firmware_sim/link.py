"""One MQTT connection of one device: a paho client driven by the asyncio event loop.

Thousands of devices share one loop, so no connection owns a thread: the socket is watched with
``add_reader``/``add_writer`` and keep-alive runs on a timer. Only the blocking TCP connect runs in
the loop's executor, as aiomqtt does. A fresh link is made for every connection, so the device's
outbox, not paho's own queue, decides what is sent again after a drop.
"""

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices.topics import OFFLINE
from devices.transport import BrokerEndpoint, MqttProtocol

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 24 * 3600
"""How long the broker keeps a device's session (its queued commands) while it is away."""
CONNECT_TIMEOUT_S = 10.0


class ConnectFailed(Exception):
    """A connection attempt that did not end in an accepted CONNACK; the message says why."""


class MqttLink:
    """A device's connection to the broker, from TCP connect to close.

    ``on_message(topic, payload)`` receives what the broker sends, ``on_ack(mid, ok)`` each PUBACK
    and ``on_subscribed(ok)`` each SUBACK; ``closed`` resolves when the connection ends, however it ends.
    """

    def __init__(
        self,
        *,
        client_id: str,
        endpoint: BrokerEndpoint,
        keepalive: int,
        will_topic: str | None,
        on_message: Callable[[str, bytes], None],
        on_ack: Callable[[int, bool], None],
        on_subscribed: Callable[[bool], None] | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._endpoint = endpoint
        self._keepalive = keepalive
        self._on_message = on_message
        self._on_ack = on_ack
        self._on_subscribed = on_subscribed
        self._v5 = endpoint.protocol is MqttProtocol.V5
        # A device keeps its session (and so its queued commands); a probe has none to keep.
        self._persistent = will_topic is not None
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            clean_session=None if self._v5 else not self._persistent,
        )
        client.max_inflight_messages_set(0)  # the device's outbox keeps its own window
        if will_topic is not None:
            client.will_set(will_topic, OFFLINE, qos=1, retain=True)
        if endpoint.username is not None:
            client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            client.tls_set(ca_certs=endpoint.ca_file)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        client.on_message = self._handle_message
        client.on_subscribe = self._handle_subscribe
        self._client = client
        self._fd = -1
        self._writer_added = False
        self._flush_scheduled = False
        self._frozen = False
        self._misc_timer: asyncio.TimerHandle | None = None
        self._connack: asyncio.Future[None] = self._loop.create_future()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self.receive_maximum = 65_535

    async def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> None:
        """Connect and wait for the broker's CONNACK; raises :class:`ConnectFailed`."""
        pending = self._loop.run_in_executor(None, self._blocking_connect)
        try:
            await asyncio.shield(pending)
        except asyncio.CancelledError:
            # The executor finishes the TCP connect regardless: close what it opens.
            pending.add_done_callback(lambda _: self.abort())
            raise
        except (OSError, ValueError) as error:
            self._finish()
            raise ConnectFailed(_describe_os_error(error)) from None
        sock = self._client.socket()
        if sock is None or self.closed.done():
            self.abort()  # aborted while the executor was connecting: close what it opened
            raise ConnectFailed("the connection was abandoned")
        self._fd = sock.fileno()
        self._client.on_socket_close = self._socket_closing
        self._client.on_socket_register_write = self._want_write
        self._client.on_socket_unregister_write = self._no_more_writes
        self._loop.add_reader(self._fd, self._readable)
        if self._client.want_write():
            self._schedule_flush()
        self._schedule_misc()
        try:
            await asyncio.wait_for(asyncio.shield(self._connack), timeout)
        except TimeoutError:
            self.abort()
            raise ConnectFailed(f"no answer from the broker within {timeout:g} s") from None
        except BaseException:
            self.abort()
            raise

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Send a QoS 1 message now; returns its message id, echoed by :attr:`on_ack`."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return info.mid

    def subscribe(self, topic: str) -> None:
        """Subscribe with QoS 1, so commands sent while the device is away are kept for it."""
        self._client.subscribe(topic, qos=1)

    def abort(self) -> None:
        """Close the TCP connection at once, without an MQTT DISCONNECT, so the broker sends the will."""
        client = self._client
        sock = client.socket()
        self._detach()
        for name in (
            "on_socket_close",
            "on_socket_unregister_write",
            "on_disconnect",
            "on_publish",
            "on_message",
            "on_subscribe",
        ):
            setattr(client, name, None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        self._finish()

    def freeze(self) -> None:
        """Stop all traffic but leave the socket open: the broker only notices at 1.5x keep-alive."""
        self._frozen = True
        self._detach()

    async def disconnect(self, timeout: float = 5.0) -> None:
        """Say goodbye with an MQTT DISCONNECT (the broker then drops the will)."""
        if self.closed.done():
            return
        if self._client.disconnect() != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self.abort()
            return
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except TimeoutError:
            self.abort()

    def _blocking_connect(self) -> None:
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY_S if self._persistent else 0
            self._client.connect(
                self._endpoint.host,
                self._endpoint.port,
                self._keepalive,
                clean_start=not self._persistent,
                properties=properties,
            )
        else:
            self._client.connect(self._endpoint.host, self._endpoint.port, self._keepalive)

    def _readable(self) -> None:
        try:
            self._client.loop_read()
            sock = self._client.socket()
            # TLS may hold decrypted bytes the selector cannot see.
            while isinstance(sock, ssl.SSLSocket) and sock.pending() > 0 and not self.closed.done():
                self._client.loop_read()
        except OSError:
            self.abort()

    def _writable(self) -> None:
        try:
            self._client.loop_write()
        except OSError:
            self.abort()

    def _want_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        # Batch every publish of this loop iteration into one write.
        if not self._flush_scheduled and not self._frozen:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._frozen or self._client.socket() is None:
            return
        self._writable()
        # Writing may have closed the socket (paho closes it on error): never watch a dead descriptor.
        if self._client.want_write() and not self._writer_added and self._fd >= 0 and self._client.socket():
            self._loop.add_writer(self._fd, self._writable)
            self._writer_added = True

    def _no_more_writes(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if self._writer_added:
            self._loop.remove_writer(self._fd)
            self._writer_added = False

    def _schedule_misc(self) -> None:
        period = max(0.1, min(5.0, self._keepalive / 4))
        self._misc_timer = self._loop.call_later(period, self._misc)

    def _misc(self) -> None:
        self._misc_timer = None
        if self._client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS and not self._frozen:
            self._schedule_misc()

    def _socket_closing(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._detach()
        self._fd = -1

    def _detach(self) -> None:
        """Stop watching the socket (before it is closed, so the selector never sees a dead fd)."""
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            if self._writer_added:
                self._loop.remove_writer(self._fd)
        self._writer_added = False
        if self._misc_timer is not None:
            self._misc_timer.cancel()
            self._misc_timer = None

    def _finish(self) -> None:
        if not self._connack.done():
            self._connack.set_exception(ConnectFailed("the connection closed before the broker answered"))
            self._connack.exception()  # retrieved, so an unawaited attempt logs nothing
        if not self.closed.done():
            self.closed.set_result(None)

    def _handle_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._connack.done():
            return
        if reason.is_failure:
            self._connack.set_exception(ConnectFailed(f"the broker refused the connection: {reason}"))
            return
        maximum = getattr(properties, "ReceiveMaximum", None)
        if isinstance(maximum, int) and maximum > 0:
            self.receive_maximum = maximum
        self._connack.set_result(None)

    def _handle_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._finish()

    def _handle_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Properties
    ) -> None:
        self._on_ack(mid, not reason.is_failure)

    def _handle_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Properties | None
    ) -> None:
        if self._on_subscribed is not None:
            self._on_subscribed(not any(reason.is_failure for reason in reasons))

    def _handle_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._on_message(message.topic, bytes(message.payload))


def _describe_os_error(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


async def probe_broker(endpoint: BrokerEndpoint, *, timeout: float = 5.0) -> None:
    """Check that the broker accepts an MQTT connection; raises :class:`ConnectFailed` saying why."""
    link = MqttLink(
        client_id=f"atrium-probe-{uuid.uuid4().hex[:12]}",
        endpoint=endpoint,
        keepalive=10,
        will_topic=None,
        on_message=lambda topic, payload: None,
        on_ack=lambda mid, ok: None,
    )
    await link.connect(timeout)
    await link.disconnect(timeout)
