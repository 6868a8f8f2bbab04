"""Booking to display: from a booking made through the API to the door display's retained room state.

A 1,000-room building (``synthetic:5000``: five devices a room, one of them a door display) with
the fleet reporting in the background (5,000 devices every 2 s; 500 with ``--quick``). A paho
subscriber in this process listens on every device's command topic. Each sample books a meeting an
hour ahead in a room of its own (``POST /bookings`` with an integration key, as a calendar sync
would book; a title no other sample uses) and waits for the
``room_state`` that lists it as upcoming. The clock starts just before the request is sent and stops
when the message arrives (``time.perf_counter``, one process): API, transaction, the display
refresh before commit, the outbox relay, the broker and the subscriber are all inside it.
"""

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.harness import FLEET_SITE, Options, Report, Row, issue_api_keys, loaded_site, ms, percentile_ms, verdict
from hub.store.auth_models import KeyKind

NAME = "booking_display"
BUILDING_DEVICES = 5000
INTERVAL_S = 2.0
PACE_S = 0.25
"""Pause between samples, so each one meets the background load rather than the previous sample."""
WAIT_S = 5.0
BUDGET_S = {True: 15.0, False: 40.0}
"""Longest time spent taking samples (quick, full): a hub far behind answers slowly."""
WARM_UP = 3
"""Samples taken first and left out of the figures (first requests, first queries)."""
TARGET_P99_MS = 100.0


class DisplayWatcher:
    """Notes when a room_state listing each awaited title arrives."""

    def __init__(self, port: int) -> None:
        self._awaited: dict[str, threading.Event] = {}
        self.arrived: dict[str, float] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-displays-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"atrium/v1/{FLEET_SITE}/+/command", qos=1)
        self.client.loop_start()
        self._subscribed.wait(10)

    def expect(self, title: str) -> threading.Event:
        with self._lock:
            event = self._awaited[title] = threading.Event()
        return event

    def _message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        arrived = time.perf_counter()
        if b"bench-" not in message.payload:
            return
        payload = json.loads(message.payload)
        with self._lock:
            for meeting in payload.get("upcoming", []):
                event = self._awaited.pop(meeting.get("title"), None)
                if event is not None:
                    self.arrived[meeting["title"]] = arrived
                    event.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run(options: Options, _results: Path) -> Report:
    samples = 8 if options.quick else 50
    fleet_devices = 500 if options.quick else BUILDING_DEVICES
    report = Report(NAME, data={"runs": []})
    for kind in options.databases:
        print(f"booking to display: {kind}, {samples} bookings, {fleet_devices} devices reporting ...", flush=True)
        conditions = (
            f"{kind}, 1,000 rooms, {fleet_devices:,} devices reporting every {INTERVAL_S:g}s; "
            f"up to {samples} bookings in {BUDGET_S[options.quick]:g}s, {PACE_S:g}s apart (after {WARM_UP} left out), "
            "each in its own room"
        )
        try:
            measured = measure(kind, samples, fleet_devices, BUDGET_S[options.quick])
        except Exception as error:  # keep the other database's figures
            report.rows.append(Row(NAME, conditions, f"[red]failed: {error}[/]"))
            report.data["runs"].append({"database": kind, "error": str(error)})
            continue
        report.data["runs"].append(measured)
        p99 = measured["booking_to_display_p99_ms"]
        report.rows.append(
            Row(
                NAME,
                conditions,
                f"booking→display p50 {ms(measured['booking_to_display_p50_ms'])}, p99 {ms(p99)}"
                f"\n(API reply alone p50 {ms(measured['api_reply_p50_ms'])}, p99 {ms(measured['api_reply_p99_ms'])});"
                f" {measured['not_arrived']} of {measured['samples']} not shown within {WAIT_S:g}s;"
                f" hub {measured['hub_behind_floor_at_end']:,} msgs behind the floor when stopped",
                verdict(p99 is not None and p99 < TARGET_P99_MS and not measured["not_arrived"], "p99 < 100 ms"),
            )
        )
    return report


def measure(kind: str, samples: int, fleet_devices: int, budget_s: float) -> dict[str, Any]:
    with loaded_site(
        kind, building_devices=BUILDING_DEVICES, fleet_devices=fleet_devices, interval_s=INTERVAL_S
    ) as site:
        (key,) = issue_api_keys(site.database_url, KeyKind.INTEGRATION)
        watcher = DisplayWatcher(site.broker.port)
        run_id = uuid.uuid4().hex[:6]
        latencies: list[float] = []
        replies: list[float] = []
        missing = 0
        try:
            with httpx.Client(base_url=site.hub.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
                give_up_at = time.monotonic() + budget_s
                for n in range(-WARM_UP, samples):
                    if time.monotonic() > give_up_at:
                        break
                    title = f"bench-{run_id}-{n}"
                    room = f"room-{((n + WARM_UP) * 7) % (BUILDING_DEVICES // 5):04d}"
                    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
                    body = {
                        "room_id": room,
                        "title": title,
                        "start": start.isoformat(),
                        "end": (start + timedelta(minutes=30)).isoformat(),
                        "organiser": {"email": "bench@example.com", "name": "Bench"},
                    }
                    shown = watcher.expect(title)
                    sent = time.perf_counter()
                    reply = client.post("/bookings", json=body)
                    replied = time.perf_counter() - sent
                    if reply.status_code != 201:
                        raise RuntimeError(f"POST /bookings answered {reply.status_code}: {reply.text[:200]}")
                    arrived = shown.wait(WAIT_S)
                    if n >= 0:
                        replies.append(replied)
                        if arrived:
                            latencies.append(watcher.arrived[title] - sent)
                        else:
                            missing += 1
                    time.sleep(PACE_S)
        finally:
            watcher.close()
    return {
        "database": kind,
        "rooms": BUILDING_DEVICES // 5,
        "fleet_devices": fleet_devices,
        "interval_s": INTERVAL_S,
        "fleet_heard_all": site.heard_all,
        "samples": len(replies),
        "samples_asked": samples,
        "not_arrived": missing,
        "hub_behind_floor_at_end": site.hub_behind(),
        "booking_to_display_p50_ms": percentile_ms(latencies, 50),
        "booking_to_display_p99_ms": percentile_ms(latencies, 99),
        "booking_to_display_max_ms": percentile_ms(latencies, 100),
        "api_reply_p50_ms": percentile_ms(replies, 50),
        "api_reply_p99_ms": percentile_ms(replies, 99),
    }
