"""The firmware every simulated device shares: connection, outbox, sequence numbers and commands.

A device's life: at boot it queues its retained state; on every connect it sends what its outbox
holds (in order, with the original sequence numbers), its state, then ``online``, and subscribes to
its commands. Readings are taken on a schedule whether or not it is connected; the outbox keeps them
until the broker acknowledges each one or, once the hub confirms what it committed, until the hub
does (firmware_sim.outbox says what is sent again, and when). Kinds subclass :class:`Device` and
say how they measure.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

from devices.codec import decode_command, encode
from devices.errors import InvalidMessage
from devices.kinds import DeviceKind
from devices.payloads import (
    SCHEMA_VERSION,
    TELEMETRY_MODELS,
    CommandBase,
    Committed,
    Configure,
    DeviceState,
    Envelope,
)
from devices.site import DeviceSpec
from devices.topics import OFFLINE, ONLINE, Channel, device_topic
from devices.transport import BrokerEndpoint
from firmware_sim.clock import SimClock
from firmware_sim.faults import Fault, check_applicable
from firmware_sim.link import ConnectFailed, MqttLink
from firmware_sim.outbox import DEFAULT_LIMIT, Outbox, Outgoing
from firmware_sim.room import RoomActivity

log = logging.getLogger(__name__)

FIRMWARE = "atrium-sim/1.0"
"""Firmware version a simulated device reports when the building file names none."""
REPORT_JITTER = 0.05
"""Each report comes up to 5 % early or late, as real timers drift."""
BACKOFF_BASE_S = 0.1
BACKOFF_CAP_S = 5.0
STABLE_CONNECTION_S = 5.0
"""A connection that lasted this long resets the reconnect backoff."""
DEFAULT_WINDOW = 20
"""Messages a device has in flight (sent, not yet acknowledged) at once."""
CONFIRM_TIMEOUT_S = 5.0
"""With hub confirmations: how long a message the broker took may wait for the hub before it is sent again."""
CONFIRM_TIMEOUT_CAP_S = 60.0
"""Silence from the hub: the wait before the next probe doubles after each one, up to this."""

Reading = dict[str, Any]
"""A kind's telemetry fields, without the envelope."""


def client_id(site: str, device_id: str) -> str:
    """The MQTT client id a device connects with."""
    return f"atrium-{site}-{device_id}"


def backoff_delay(attempt: int, rng: random.Random) -> float:
    """Exponential backoff with jitter, capped, so a fleet does not reconnect in lockstep."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt)
    return ceiling * (0.5 + rng.random() / 2)


class CommandRefused(Exception):
    """A command the device understood but cannot carry out; the message says why."""


@dataclass(slots=True)
class DeviceStats:
    """What one device has done since it started."""

    produced: int = 0
    """Messages put in the outbox (telemetry, events and states)."""
    telemetry: int = 0
    published: int = 0
    """PUBLISH packets sent, resends included."""
    resent: int = 0
    acknowledged: int = 0
    telemetry_acknowledged: int = 0
    rejected: int = 0
    """Messages the broker refused with a failure PUBACK (MQTT 5)."""
    connections: int = 0
    connect_failures: int = 0
    commands_obeyed: int = 0
    commands_refused: int = 0
    confirmed: int = 0
    """Messages the hub confirmed it committed (while the device waits for the hub)."""
    unconfirmed_resends: int = 0
    """Messages the broker had acknowledged, sent again because the hub's confirmation did not come."""


class Device:
    """A simulated device's firmware over a real MQTT broker."""

    kind: ClassVar[DeviceKind]
    default_interval_s: ClassVar[float] = 60.0

    def __init__(
        self,
        spec: DeviceSpec,
        *,
        site: str,
        room: RoomActivity,
        endpoint: BrokerEndpoint,
        clock: SimClock,
        seed: int = 0,
        interval_s: float | None = None,
        keepalive: int = 30,
        seq_start: int = 0,
        outbox_limit: int = DEFAULT_LIMIT,
        window: int = DEFAULT_WINDOW,
        telemetry_limit: int | None = None,
        connect_gate: asyncio.Semaphore | None = None,
        hub_confirms: bool | None = None,
        confirm_timeout_s: float = CONFIRM_TIMEOUT_S,
    ) -> None:
        """``hub_confirms``: whether a message leaves the outbox only once the hub confirms it committed it.

        True: from boot. False: the broker's PUBACK is enough. None (the default): from the first
        confirmation the hub sends, so a device under a hub that confirms (the hub's default) keeps
        everything, and one with no such hub does not keep every message it ever sent.
        """
        if spec.kind is not self.kind:
            raise ValueError(f"{spec.id} is a {spec.kind.value}, not a {self.kind.value}")
        self.spec = spec
        self.id = spec.id
        self.site = site
        self.room = room
        self.endpoint = endpoint
        self.clock = clock
        self.keepalive = keepalive
        self.client_id = client_id(site, spec.id)
        self.firmware = spec.firmware or FIRMWARE
        self.rng = random.Random(f"{seed}:{spec.id}")
        """Drives the readings only, so they replay identically for a seed."""
        self.outbox = Outbox(outbox_limit)
        self.stats = DeviceStats()
        self.faults: set[Fault] = set()
        self._network_rng = random.Random(f"{seed}:{spec.id}:network")
        self._interval = interval_s or self.default_interval_s
        self._seq = seq_start
        self._topics = {channel: device_topic(site, spec.id, channel) for channel in Channel}
        self._window = window
        self._telemetry_limit = telemetry_limit
        self._gate = connect_gate
        self._confirms_setting = hub_confirms
        self.hub_confirms = bool(hub_confirms)
        """Whether the device waits for the hub's confirmation now (see ``__init__``)."""
        self._confirm_timeout = confirm_timeout_s
        self._resend_after = confirm_timeout_s
        self._heard_at = 0.0
        """When the hub last confirmed something new, the last probe went out, or the device connected."""
        self._confirm_timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._link: MqttLink | None = None
        self._connected = False
        self._inflight: dict[int, Outgoing] = {}
        self._pending_state: Outgoing | None = None
        self._birth_seq: int | None = None
        self._last_reading: Reading | None = None
        self._stuck: Reading | None = None
        self._last_measured: datetime | None = None
        self._killed = False
        self._stopping = False
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._online = asyncio.Event()
        self._done = asyncio.Event()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} seq={self._seq} outbox={len(self.outbox)}>"

    @property
    def interval_s(self) -> float:
        """Real seconds between two reports."""
        return self._interval

    @property
    def next_seq(self) -> int:
        """The sequence number the next message will carry."""
        return self._seq

    @property
    def connected(self) -> bool:
        """Whether the device has a live, accepted connection."""
        return self._connected

    @property
    def killed(self) -> bool:
        """Whether :meth:`kill` took the device down (until :meth:`revive`)."""
        return self._killed

    @property
    def done(self) -> bool:
        """Whether the device sent its last telemetry message and the broker has all of it."""
        return self._done.is_set()

    def topic(self, channel: Channel) -> str:
        """This device's topic for a channel."""
        return self._topics[channel]

    # Life cycle

    def start(self) -> None:
        """Boot: queue the retained state, start reporting and connecting (inside the event loop)."""
        if self._task is not None:
            raise RuntimeError(f"{self.id} is already running")
        self._loop = asyncio.get_running_loop()
        self._send_state()
        # Phases count from the clock's origin, so a seed gives the same readings at the same
        # simulated instants however long the fleet took to start this device.
        phase = self.rng.uniform(0, self._interval)
        first = self.clock.origin + phase
        if first < self._loop.time() - self._interval:
            first = self._loop.time() + phase
        self._schedule(first)
        if self.hub_confirms:
            self._schedule_confirmation_check()
        self._task = self._loop.create_task(self._supervise(), name=f"device {self.id}")

    async def stop(self, *, drain_timeout: float = 2.0) -> None:
        """Shut down politely: let the outbox drain a moment, publish ``offline``, then DISCONNECT."""
        if self._stopping:
            return
        self._stopping = True
        self._cancel_timer()
        if self._confirm_timer is not None:
            self._confirm_timer.cancel()
        link = self._link
        if link is not None and self._connected:
            await self._drain(link, drain_timeout)
            if not link.closed.done():
                # Sent before the DISCONNECT on the same stream, so the broker has it first.
                link.publish(self._topics[Channel.AVAILABILITY], OFFLINE, retain=True)
                await link.disconnect()
        elif link is not None:
            link.abort()
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_online(self, timeout: float | None = None) -> bool:
        """Wait until connected, born and subscribed to commands; False if ``timeout`` passes first."""
        try:
            await asyncio.wait_for(self._online.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def wait_done(self) -> None:
        """Wait until the telemetry limit is reached and the outbox is empty."""
        await self._done.wait()

    def kill(self, *, silent: bool = False) -> None:
        """Die on the spot: no DISCONNECT, no readings, until :meth:`revive`.

        By default the TCP connection is reset, so the broker publishes the will at once. With
        ``silent`` the socket just goes quiet, as after a power cut behind a switch: the broker
        publishes the will when the keep-alive runs out (1.5 x keepalive).
        The outbox and the sequence counter survive, as if kept in flash.
        """
        self._killed = True
        self._cancel_timer()
        link = self._link
        if link is not None:
            if silent and self._connected:
                link.freeze()
            else:
                link.abort()
        self._connected = False
        self._online.clear()
        self._wake.set()

    def revive(self) -> None:
        """Boot again after :meth:`kill`: reconnect, replay the outbox, resume reporting."""
        if not self._killed:
            return
        self._killed = False
        if self._link is not None:
            self._link.abort()
        if self._loop is not None and not self._stopping:
            self._schedule(self._loop.time() + self.rng.uniform(0, self._interval))
        self._wake.set()

    # Faults

    def inject(self, fault: Fault) -> None:
        """Make the device misbehave; safety alarms and other visible changes are reported at once."""
        check_applicable(fault, self.kind)
        if fault in self.faults:
            return
        self.faults.add(fault)
        if fault is Fault.STUCK:
            self._stuck = self._last_reading
        self._fault_changed(fault, active=True)
        if fault is Fault.OFFLINE:
            if self._link is not None:
                self._link.abort()
            self._connected = False
            self._online.clear()
            self._wake.set()
        else:
            self.report_now()

    def clear(self, fault: Fault) -> None:
        """Undo a fault (a new battery, a new roll of labels, the network back...)."""
        if fault not in self.faults:
            return
        self.faults.discard(fault)
        if fault is Fault.STUCK:
            self._stuck = None
        self._fault_changed(fault, active=False)
        if fault is Fault.OFFLINE:
            self._wake.set()
        else:
            self.report_now()

    def report_now(self) -> None:
        """Take and queue a reading now, outside the schedule (firmware reports changes at once)."""
        if self._loop is not None and not (self._killed or self._stopping):
            self._report(self.clock.now())

    # What kinds provide

    def measure(self, at: datetime, elapsed_s: float) -> Reading:
        """The kind's true reading at simulated time ``at``, ``elapsed_s`` simulated seconds after the last.

        It advances the device's model (energy adds up, CO2 follows people), so call it in time order.
        """
        raise NotImplementedError

    def _impossible(self) -> Reading:
        """Fields a sensor gone out of range reports (only kinds that allow the fault need it)."""
        raise NotImplementedError

    def _fault_changed(self, fault: Fault, *, active: bool) -> None:
        """React to a fault being injected or cleared (refill paper, fit a battery...)."""

    def _command_handlers(self) -> Mapping[type[CommandBase], Callable[[Any], None]]:
        """Which commands this kind obeys; subclasses extend the mapping."""
        return {Configure: self._configure}

    # Messages

    def _envelope(self, at: datetime) -> dict[str, Any]:
        """Envelope fields for the next message; its sequence number is taken only once it is sent."""
        return {"v": SCHEMA_VERSION, "device_id": self.id, "seq": self._seq, "ts": at, "kind": self.kind}

    def _send(self, channel: Channel, message: Envelope, *, retain: bool = False) -> Outgoing:
        """Queue a message in the outbox and send what the window allows."""
        if message.seq != self._seq:
            raise RuntimeError(f"{self.id}: message built with seq {message.seq}, expected {self._seq}")
        self._seq += 1
        outgoing = Outgoing(message.seq, channel, self._topics[channel], encode(message), retain)
        self.stats.produced += 1
        dropped = self.outbox.put(outgoing)
        if dropped is not None and dropped.seq % 1000 == 0:
            log.warning("%s: outbox full, dropped %d messages so far", self.id, self.outbox.dropped)
        self._pump()
        return outgoing

    def _send_event(self, event: Envelope) -> None:
        self._send(Channel.EVENT, event)

    def _send_state(self) -> None:
        state = DeviceState(
            **self._envelope(self.clock.now()),
            firmware=self.firmware,
            report_interval_s=self._interval,
            keepalive_s=self.keepalive,
        )
        self._pending_state = self._send(Channel.STATE, state, retain=True)

    def _report(self, at: datetime) -> None:
        if self._telemetry_limit is not None and self.stats.telemetry >= self._telemetry_limit:
            return
        elapsed = 0.0
        if self._last_measured is not None:
            elapsed = max(0.0, (at - self._last_measured).total_seconds())
        if self._last_measured is None or at > self._last_measured:
            self._last_measured = at
        reading = self.measure(at, elapsed)
        if Fault.STUCK in self.faults:
            if self._stuck is None:
                self._stuck = reading
            reading = self._stuck
        self._last_reading = reading
        if Fault.OUT_OF_RANGE in self.faults:
            reading = {**reading, **self._impossible()}
        telemetry = TELEMETRY_MODELS[self.kind](**self._envelope(at), **reading)
        self._send(Channel.TELEMETRY, telemetry)
        self.stats.telemetry += 1

    def _pump(self) -> None:
        """Hand messages to the connection in order, up to the in-flight window."""
        link = self._link
        if link is None or not self._connected:
            return
        window = min(self._window, link.receive_maximum)
        while len(self._inflight) < window:
            message = self.outbox.take()
            if message is None:
                break
            self._inflight[link.publish(message.topic, message.payload, retain=message.retain)] = message
            self.stats.published += 1
            if message.attempts > 1:
                self.stats.resent += 1
            if self._birth_seq is not None and message.seq >= self._birth_seq:
                self._announce(link)
        if self._birth_seq is not None and self.outbox.unsent == 0:
            self._announce(link)

    def _announce(self, link: MqttLink) -> None:
        """Birth, once the state is on its way: ``online`` (retained), then listen for commands."""
        self._birth_seq = None
        link.publish(self._topics[Channel.AVAILABILITY], ONLINE, retain=True)
        link.subscribe(self._topics[Channel.COMMAND])

    def _on_subscribed(self, ok: bool) -> None:
        """The broker confirmed the command subscription: the device is fully online now (once born)."""
        if not ok:
            log.warning("%s: the broker refused the command subscription", self.id)
        if self._connected and self._birth_seq is None:
            self._online.set()

    def _on_ack(self, mid: int, ok: bool) -> None:
        message = self._inflight.pop(mid, None)
        if message is None:
            return  # the availability message, whose delivery nobody waits for
        if ok:
            self.stats.acknowledged += 1
            if message.channel is Channel.TELEMETRY:
                self.stats.telemetry_acknowledged += 1
        else:
            self.stats.rejected += 1
            log.warning("%s: the broker refused message %d", self.id, message.seq)
        if ok and self.hub_confirms and self._loop is not None:
            self.outbox.deliver(message, self._loop.time())
        else:
            self.outbox.ack(message)
        self._progress.set()
        self._check_done()
        self._pump()

    def _check_done(self) -> None:
        limit = self._telemetry_limit
        if limit is not None and self.stats.telemetry >= limit and not self.outbox:
            self._done.set()

    async def _drain(self, link: MqttLink, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.outbox and not link.closed.done() and (remaining := deadline - loop.time()) > 0:
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), remaining)

    # Commands

    @cached_property
    def _handlers(self) -> Mapping[type[CommandBase], Callable[[Any], None]]:
        return self._command_handlers()

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic != self._topics[Channel.COMMAND]:
            self._refuse(f"message on unexpected topic {topic}")
            return
        try:
            command = decode_command(payload)
        except InvalidMessage as error:
            self._refuse(f"bad command: {error}")
            return
        if isinstance(command, Committed):
            self._on_committed(command)
            return
        handler = self._handlers.get(type(command))
        if handler is None:
            self._refuse(f"a {self.kind.value} cannot {command.cmd}")
            return
        try:
            handler(command)
        except CommandRefused as error:
            self._refuse(f"{command.cmd} {command.id}: {error}")
            return
        except Exception:
            log.exception("%s: command %s %s failed", self.id, command.cmd, command.id)
            self.stats.commands_refused += 1
            return
        self.stats.commands_obeyed += 1

    def _on_committed(self, committed: Committed) -> None:
        """The hub committed these messages: only now may the outbox forget them."""
        if not self.hub_confirms:
            if self._confirms_setting is False or self._loop is None:
                return
            self.hub_confirms = True  # this hub confirms: from now on wait for it
            self._schedule_confirmation_check()
        confirmed = self.outbox.confirm(committed.covers)
        if confirmed and self._loop is not None:
            self.stats.confirmed += confirmed
            self._heard_at = self._loop.time()
            self._resend_after = self._confirm_timeout
            self._progress.set()
            self._check_done()
            self._resend_unconfirmed(silence=False)

    def _schedule_confirmation_check(self) -> None:
        assert self._loop is not None
        if self._confirm_timer is None and not self._stopping:
            self._confirm_timer = self._loop.call_later(self._confirm_timeout / 2, self._check_confirmations)

    def _check_confirmations(self) -> None:
        """Every half timeout: the gap and silence rules of firmware_sim.outbox."""
        self._confirm_timer = None
        if self._stopping:
            return
        self._resend_unconfirmed(silence=True)
        self._schedule_confirmation_check()

    def _resend_unconfirmed(self, *, silence: bool) -> None:
        """Send again what the broker took but the hub went past (and, with ``silence``, probe a quiet hub)."""
        assert self._loop is not None
        if not self._connected:
            return  # no confirmation can come while away; the gap and the silence are judged once back
        now = self._loop.time()
        again = self.outbox.overdue(now, self._confirm_timeout)
        oldest = self.outbox.oldest_delivered() if silence else None
        quiet_since = max(self._heard_at, oldest.delivered_at or 0.0) if oldest is not None else now
        if now - quiet_since >= self._resend_after:
            self.outbox.probe()
            again += 1
            self._heard_at = now
            self._resend_after = min(CONFIRM_TIMEOUT_CAP_S, self._resend_after * 2)
        if again:
            self.stats.unconfirmed_resends += again
        self._pump()

    def _refuse(self, why: str) -> None:
        self.stats.commands_refused += 1
        log.warning("%s: %s", self.id, why)

    def _configure(self, command: Configure) -> None:
        self._interval = command.report_interval_s
        if self._timer is not None and self._loop is not None:
            self._cancel_timer()
            self._schedule(self._loop.time() + self._interval)
        self._send_state()

    # Schedule

    def _schedule(self, due: float) -> None:
        assert self._loop is not None
        self._due = due
        self._timer = self._loop.call_at(due, self._tick)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        assert self._loop is not None
        self._timer = None
        if self._killed or self._stopping:
            return
        due = self._due
        self._report(self.clock.at(due))
        if self._telemetry_limit is not None and self.stats.telemetry >= self._telemetry_limit:
            self._check_done()
            return
        following = due + self._interval * (1 + self.rng.uniform(-REPORT_JITTER, REPORT_JITTER))
        now = self._loop.time()
        if following < now - self._interval:
            following = now  # far behind (a stalled loop): skip ahead rather than burst
        self._schedule(following)

    # Connection

    def _may_connect(self) -> bool:
        return not (self._stopping or self._killed or Fault.OFFLINE in self.faults)

    async def _supervise(self) -> None:
        """Keep a connection up whenever the device is allowed one; back off between attempts."""
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._stopping:
            if not self._may_connect():
                await self._wake.wait()
                self._wake.clear()
                continue
            try:
                async with self._gate or contextlib.nullcontext():
                    if not self._may_connect():
                        continue
                    link = self._link = MqttLink(
                        client_id=self.client_id,
                        endpoint=self.endpoint,
                        keepalive=self.keepalive,
                        will_topic=self._topics[Channel.AVAILABILITY],
                        on_message=self._on_message,
                        on_ack=self._on_ack,
                        on_subscribed=self._on_subscribed,
                    )
                    await link.connect()
            except ConnectFailed as error:
                self._link = None
                if self._may_connect():
                    self.stats.connect_failures += 1
                    log.debug("%s: cannot connect: %s", self.id, error)
                    await self._pause(backoff_delay(attempt, self._network_rng))
                    attempt += 1
                continue
            if not self._may_connect() or link.closed.done():
                link.abort()
                self._link = None
                continue
            connected_at = loop.time()
            self._on_connected()
            await link.closed
            self._on_link_lost()
            attempt = 0 if loop.time() - connected_at >= STABLE_CONNECTION_S else attempt + 1
            if self._may_connect():
                await self._pause(backoff_delay(attempt, self._network_rng))

    async def _pause(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)
        self._wake.clear()

    def _on_connected(self) -> None:
        self.stats.connections += 1
        state = self._pending_state
        if state is None or state.acked or state.dropped:
            self._send_state()
            state = self._pending_state
        assert state is not None
        self._birth_seq = state.seq
        self._connected = True
        if self._loop is not None:
            self._heard_at = max(self._heard_at, self._loop.time())  # silence counts while connected only
        if self._confirms_setting is not False and self._link is not None:
            # Listen before sending, so the hub's confirmations of this very replay are heard.
            self._link.subscribe(self._topics[Channel.COMMAND])
        self._pump()

    def _on_link_lost(self) -> None:
        self._connected = False
        self._online.clear()
        self._link = None
        self._birth_seq = None
        self._inflight.clear()
        self.outbox.connection_lost()
