"""A fleet: every device of a building simulated in one process, on one asyncio event loop.

No device owns a thread. Connections go through a gate of limited concurrency (100 at a time by
default) so thousands of devices come up in waves instead of one storm, and each device starts
reporting at its own random phase. :class:`FleetThread` runs a fleet beside synchronous code.
"""

import asyncio
import contextlib
import logging
import resource
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, fields
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devices.kinds import DeviceKind
from devices.site import Building
from devices.transport import BrokerEndpoint
from firmware_sim.badge_printer import BadgePrinter
from firmware_sim.clock import SimClock
from firmware_sim.credentials import device_endpoint, load_credentials
from firmware_sim.device import CONFIRM_TIMEOUT_S, Device
from firmware_sim.door_display import DoorDisplay
from firmware_sim.energy import EnergyMeter
from firmware_sim.environment import EnvironmentSensor
from firmware_sim.faults import Fault
from firmware_sim.occupancy import OccupancySensor
from firmware_sim.outbox import DEFAULT_LIMIT
from firmware_sim.room import RoomActivity
from firmware_sim.safety import SafetySensor

log = logging.getLogger(__name__)

T = TypeVar("T")

DEVICE_TYPES: dict[DeviceKind, type[Device]] = {
    DeviceKind.OCCUPANCY: OccupancySensor,
    DeviceKind.ENVIRONMENT: EnvironmentSensor,
    DeviceKind.ENERGY: EnergyMeter,
    DeviceKind.SAFETY: SafetySensor,
    DeviceKind.DOOR_DISPLAY: DoorDisplay,
    DeviceKind.BADGE_PRINTER: BadgePrinter,
}
"""The firmware each kind of device runs."""

CONNECT_CONCURRENCY = 100
"""Connection attempts in progress at once, across the fleet."""


def seq_start_from_clock() -> int:
    """A first sequence number above any earlier run's: milliseconds since 1970.

    Real firmware keeps its counter in flash across reboots; a simulated fleet that starts again
    must not reuse numbers the hub already stored (it would drop them as duplicates).
    """
    return time.time_ns() // 1_000_000


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard limit (a device is a socket); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if target <= soft:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as error:
        log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, error)
        return soft
    return target


def site_timezone(building: Building) -> tzinfo:
    """The site's time zone, or UTC (with a warning) when this machine does not know it."""
    try:
        return ZoneInfo(building.site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; simulating in UTC", building.site.timezone)
        return UTC


@dataclass(frozen=True, slots=True)
class FleetStats:
    """Totals over the fleet's devices at one moment."""

    devices: int = 0
    connected: int = 0
    done: int = 0
    """Devices that sent their last message (with ``messages_per_device``) and had it acknowledged."""
    produced: int = 0
    published: int = 0
    acknowledged: int = 0
    telemetry_acknowledged: int = 0
    buffered: int = 0
    """Messages waiting in outboxes for an acknowledgement."""
    dropped: int = 0
    resent: int = 0
    rejected: int = 0
    reconnects: int = 0
    connect_failures: int = 0
    commands_obeyed: int = 0
    commands_refused: int = 0
    confirmed: int = 0
    """Messages the hub confirmed it committed (devices waiting for the hub)."""
    unconfirmed_resends: int = 0
    """Messages the broker had acknowledged, sent again because the hub's confirmation did not come."""

    def as_dict(self) -> dict[str, int]:
        """The totals by name, for printing or JSON."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


class Fleet:
    """The devices of a building, simulated together against one broker."""

    def __init__(
        self,
        building: Building,
        endpoint: BrokerEndpoint,
        *,
        interval_s: float | None = None,
        messages_per_device: int | None = None,
        time_scale: float = 1.0,
        start: datetime | None = None,
        seed: int = 0,
        keepalive: int = 30,
        seq_start: int = 0,
        connect_concurrency: int = CONNECT_CONCURRENCY,
        outbox_limit: int = DEFAULT_LIMIT,
        credentials: Mapping[str, str] | Path | None = None,
        hub_confirms: bool | None = None,
        confirm_timeout_s: float = CONFIRM_TIMEOUT_S,
    ) -> None:
        """``credentials`` (device id -> password, or the file of them) logs each device in as itself.

        ``hub_confirms``: True, devices keep each message until the hub confirms it from boot; False,
        the broker's PUBACK is enough; None, from the hub's first confirmation (firmware_sim.device).
        """
        if isinstance(credentials, Path):
            credentials = load_credentials(credentials)
        if messages_per_device is not None and messages_per_device < 1:
            raise ValueError("messages_per_device must be at least 1")
        self.building = building
        self.endpoint = endpoint
        self.messages_per_device = messages_per_device
        self.timezone = timezone = site_timezone(building)
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=timezone)
        self.clock = SimClock(start=start, time_scale=time_scale)
        self._gate = asyncio.Semaphore(connect_concurrency)
        rooms = {room.id: RoomActivity(room, timezone=timezone, seed=seed) for _, room in building.rooms()}
        self._devices: dict[str, Device] = {
            spec.id: DEVICE_TYPES[spec.kind](
                spec,
                site=building.site.id,
                room=rooms[room.id],
                endpoint=device_endpoint(endpoint, spec.id, credentials),
                clock=self.clock,
                seed=seed,
                interval_s=interval_s,
                keepalive=keepalive,
                seq_start=seq_start,
                outbox_limit=outbox_limit,
                telemetry_limit=messages_per_device,
                connect_gate=self._gate,
                hub_confirms=hub_confirms,
                confirm_timeout_s=confirm_timeout_s,
            )
            for _, room, spec in building.devices()
        }
        self._stop_requested = asyncio.Event()
        self._started = False
        self._stopping: asyncio.Future[list[None]] | None = None

    def __len__(self) -> int:
        return len(self._devices)

    def __iter__(self) -> Iterator[Device]:
        return iter(self._devices.values())

    @property
    def site(self) -> str:
        """The simulated site's id."""
        return self.building.site.id

    def device(self, device_id: str) -> Device:
        """One device of the fleet, by id."""
        try:
            return self._devices[device_id]
        except KeyError:
            raise KeyError(f"no device {device_id!r} in this fleet") from None

    def inject(self, device_id: str, fault: Fault) -> None:
        """Give one device a fault (see :class:`~firmware_sim.faults.Fault`)."""
        self.device(device_id).inject(fault)

    def clear(self, device_id: str, fault: Fault) -> None:
        """Clear one device's fault."""
        self.device(device_id).clear(fault)

    def stats(self) -> FleetStats:
        """Totals over all devices now."""
        counts = dict.fromkeys((f.name for f in fields(FleetStats) if f.name != "devices"), 0)
        for device in self._devices.values():
            stats = device.stats
            counts["connected"] += device.connected
            counts["done"] += device.done
            counts["produced"] += stats.produced
            counts["published"] += stats.published
            counts["acknowledged"] += stats.acknowledged
            counts["telemetry_acknowledged"] += stats.telemetry_acknowledged
            counts["buffered"] += len(device.outbox)
            counts["dropped"] += device.outbox.dropped
            counts["resent"] += stats.resent
            counts["rejected"] += stats.rejected
            counts["reconnects"] += max(0, stats.connections - 1)
            counts["connect_failures"] += stats.connect_failures
            counts["commands_obeyed"] += stats.commands_obeyed
            counts["commands_refused"] += stats.commands_refused
            counts["confirmed"] += stats.confirmed
            counts["unconfirmed_resends"] += stats.unconfirmed_resends
        return FleetStats(devices=len(self._devices), **counts)

    async def run(self, duration: float | None = None) -> FleetStats:
        """Run until ``duration`` seconds pass, every device is done, or :meth:`stop`; then stop politely."""
        if self._started:
            raise RuntimeError("a fleet runs once")
        self._started = True
        limit = raise_open_file_limit()
        if limit < len(self._devices) + 64:
            log.warning("%d devices need more open files than the limit of %d", len(self._devices), limit)
        self.clock.anchor()
        for device in self._devices.values():
            device.start()
        waits: list[asyncio.Task[Any]] = [asyncio.create_task(self._stop_requested.wait())]
        if duration is not None:
            waits.append(asyncio.create_task(asyncio.sleep(duration)))
        if self.messages_per_device is not None:
            waits.append(asyncio.create_task(self._all_done()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            await self.stop()
        return self.stats()

    async def _all_done(self) -> None:
        await asyncio.gather(*(device.wait_done() for device in self._devices.values()))

    async def wait_online(self, timeout: float | None = None) -> bool:
        """Wait until every device is connected (False if ``timeout`` passes first)."""
        try:
            await asyncio.wait_for(
                asyncio.gather(*(device.wait_online() for device in self._devices.values())), timeout
            )
        except TimeoutError:
            return False
        return True

    def request_stop(self) -> None:
        """Ask :meth:`run` to stop (from the loop's thread, e.g. a signal handler)."""
        self._stop_requested.set()

    async def stop(self, *, drain_timeout: float = 2.0) -> None:
        """Stop every device politely: drain a moment, publish ``offline``, DISCONNECT."""
        self._stop_requested.set()
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(
                asyncio.gather(*(device.stop(drain_timeout=drain_timeout) for device in self._devices.values()))
            )
        await asyncio.shield(self._stopping)


class FleetThread:
    """A fleet on its own event loop in a background thread, for synchronous programs.

    ``FleetThread(fleet).start()`` returns once the loop runs; :meth:`call` runs a function on the
    fleet's loop (device methods are not thread-safe) and :meth:`stop` stops politely and joins.
    """

    def __init__(self, fleet: Fleet, *, duration: float | None = None, name: str = "firmware-sim") -> None:
        self.fleet = fleet
        self._duration = duration
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._result: FleetStats | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> "FleetThread":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the fleet's loop is still running."""
        return self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> "FleetThread":
        """Start the thread and the fleet; returns once the loop is running."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the fleet's event loop did not start")
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            main = loop.create_task(self.fleet.run(self._duration))
            loop.call_soon(self._ready.set)
            self._result = loop.run_until_complete(main)
        except BaseException as error:
            self._error = error
        finally:
            self._ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def call(self, function: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """Run ``function(*args)`` on the fleet's loop and return its result (or raise its error)."""
        loop = self._running_loop()
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(function(*args))
            except BaseException as error:
                future.set_exception(error)

        loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def run_coroutine(self, coroutine: Coroutine[Any, Any, T], *, timeout: float | None = 30.0) -> T:
        """Await a coroutine on the fleet's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop()).result(timeout)

    def device(self, device_id: str) -> Device:
        """A device, to read (its attributes); change it through :meth:`call`."""
        return self.fleet.device(device_id)

    def inject(self, device_id: str, fault: Fault) -> None:
        """Give a device a fault."""
        self.call(self.fleet.inject, device_id, fault)

    def clear(self, device_id: str, fault: Fault) -> None:
        """Clear a device's fault."""
        self.call(self.fleet.clear, device_id, fault)

    def stats(self) -> FleetStats:
        """The fleet's totals now."""
        if not self.running:
            return self.fleet.stats()
        return self.call(self.fleet.stats)

    def wait_online(self, timeout: float = 30.0) -> bool:
        """Block until every device is connected (False on timeout)."""
        return self.run_coroutine(self.fleet.wait_online(timeout), timeout=timeout + 5)

    def join(self, timeout: float | None = None) -> FleetStats:
        """Wait for the fleet to finish by itself (duration or message count); re-raises its error."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the fleet is still running")
        if self._error is not None:
            raise self._error
        return self._result if self._result is not None else self.fleet.stats()

    def stop(self, timeout: float = 30.0) -> FleetStats:
        """Stop the fleet politely and wait for the thread."""
        if self.running and self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.run_coroutine(self.fleet.stop(), timeout=timeout)
        return self.join(timeout)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or loop.is_closed() or not self.running:
            raise RuntimeError("the fleet is not running")
        return loop


def run_in_thread(fleet: Fleet, *, duration: float | None = None) -> FleetThread:
    """Start a fleet in a background thread; stop it with ``.stop()``."""
    return FleetThread(fleet, duration=duration).start()
