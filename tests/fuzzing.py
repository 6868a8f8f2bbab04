"""Generated MQTT traffic for fuzzing a running hub: valid readings mixed with every kind of bad input.

Each case says what the hub must do with it: store it (``valid``), refuse it (``invalid``) or either
(``either``: a mutation that may or may not still be a valid payload). The mix is seeded, so a failing run
can be repeated exactly.
"""

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from devices.codec import MAX_PAYLOAD_BYTES, encode
from devices.kinds import DeviceKind
from devices.payloads import Envelope
from devices.topics import Channel, device_topic
from tests.devices.samples import TELEMETRY

Verdict = Literal["valid", "invalid", "either", "unseen"]
"""``unseen``: the broker never hands it to the hub (a channel the hub does not subscribe to)."""


@dataclass(frozen=True, slots=True)
class FuzzCase:
    topic: str
    payload: bytes
    verdict: Verdict


WEIRD_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    2**63,
    -(2**70),
    1e308,
    -1e308,
    "",
    "x" * 5000,
    "\u0000\ud7ff\uffff",
    "'; DROP TABLE devices; --",
    [],
    [1, 2, 3],
    {},
    {"nested": {"deeper": [None, {"x": 1}]}},
]


class FuzzTraffic:
    """Cases for one site whose devices are ``devices`` (id -> kind)."""

    def __init__(self, site: str, devices: dict[str, DeviceKind], *, seed: int = 1) -> None:
        self.site = site
        self.devices = sorted(devices.items())
        self.random = random.Random(seed)
        self.next_seq = {device_id: 1_000_000 for device_id in devices}

    def cases(self, count: int) -> Iterator[FuzzCase]:
        makers = [
            (30, self.valid),
            (15, self.mutated),
            (10, self.random_bytes),
            (8, self.random_json),
            (6, self.wrong_device),
            (6, self.unknown_device),
            (5, self.bad_channel),
            (5, self.kind_mismatch),
            (5, self.bad_version),
            (3, self.oversize),
            (4, self.bad_availability),
            (3, self.foreign_site),
        ]
        weights = [weight for weight, _ in makers]
        for _ in range(count):
            (_, make) = self.random.choices(makers, weights)[0]
            yield make()

    def valid(self) -> FuzzCase:
        device_id, kind = self.random.choice(self.devices)
        return FuzzCase(self._topic(device_id), encode(self._reading(device_id, kind)), "valid")

    def mutated(self) -> FuzzCase:
        device_id, kind = self.random.choice(self.devices)
        document = json.loads(encode(self._reading(device_id, kind)))
        key = self.random.choice([*document, "extra_field"])
        action = self.random.random()
        if action < 0.3 and key in document and key not in ("device_id",):
            del document[key]
        else:
            document[key] = self.random.choice(WEIRD_VALUES)
        verdict: Verdict = "either" if key not in ("device_id", "v", "kind") else "invalid"
        if key == "extra_field":
            verdict = "invalid"  # payloads forbid unknown fields
        return FuzzCase(self._topic(device_id), json.dumps(document).encode(), verdict)

    def random_bytes(self) -> FuzzCase:
        device_id, _ = self.random.choice(self.devices)
        payload = self.random.randbytes(self.random.randint(0, 300))
        return FuzzCase(self._topic(device_id), payload, "invalid")

    def random_json(self) -> FuzzCase:
        device_id, _ = self.random.choice(self.devices)
        document = self.random.choice(WEIRD_VALUES)
        return FuzzCase(self._topic(device_id), json.dumps(document).encode(), "invalid")

    def wrong_device(self) -> FuzzCase:
        (device_id, kind), (other, _) = self.random.sample(self.devices, 2)
        return FuzzCase(self._topic(other), encode(self._reading(device_id, kind)), "invalid")

    def unknown_device(self) -> FuzzCase:
        device_id, kind = self.random.choice(self.devices)
        stranger = f"intruder-{self.random.randint(0, 99_999)}"
        reading = self._reading(device_id, kind).model_copy(update={"device_id": stranger})
        return FuzzCase(self._topic(stranger), encode(reading), "invalid")

    def bad_channel(self) -> FuzzCase:
        device_id, kind = self.random.choice(self.devices)
        channel = self.random.choice(["cmd", "debug", "telemetry2", "", "TELEMETRY"])
        return FuzzCase(
            f"atrium/v1/{self.site}/{device_id}/{channel}", encode(self._reading(device_id, kind)), "unseen"
        )

    def kind_mismatch(self) -> FuzzCase:
        device_id, kind = self.random.choice(self.devices)
        other_kind = self.random.choice([k for k in TELEMETRY if k is not kind])
        reading = TELEMETRY[other_kind].model_copy(
            update={"device_id": device_id, "seq": self._seq(device_id), "ts": datetime.now(UTC)}
        )
        return FuzzCase(self._topic(device_id), encode(reading), "invalid")

    def bad_version(self) -> FuzzCase:
        device_id, kind = self.random.choice(self.devices)
        document = json.loads(encode(self._reading(device_id, kind)))
        document["v"] = self.random.choice([0, 2, 99, "1"])
        return FuzzCase(self._topic(device_id), json.dumps(document).encode(), "invalid")

    def oversize(self) -> FuzzCase:
        device_id, _ = self.random.choice(self.devices)
        return FuzzCase(self._topic(device_id), b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", "invalid")

    def bad_availability(self) -> FuzzCase:
        device_id, _ = self.random.choice(self.devices)
        payload = self.random.choice([b"", b"ONLINE", b"online\n", b"maybe", b"\xff\xfe"])
        return FuzzCase(device_topic(self.site, device_id, Channel.AVAILABILITY), payload, "invalid")

    def foreign_site(self) -> FuzzCase:
        # Another site's topic under this hub's subscription cannot be forged: the filter names the site.
        # What can be forged is an invalid device id inside this site's tree.
        device_id, kind = self.random.choice(self.devices)
        bad_id = self.random.choice(["UPPER", "a" * 80, "dots.in.id", "sp ace", "-lead"])
        return FuzzCase(f"atrium/v1/{self.site}/{bad_id}/telemetry", encode(self._reading(device_id, kind)), "invalid")

    def _topic(self, device_id: str) -> str:
        return device_topic(self.site, device_id, Channel.TELEMETRY)

    def _seq(self, device_id: str) -> int:
        self.next_seq[device_id] += 1
        return self.next_seq[device_id]

    def _reading(self, device_id: str, kind: DeviceKind) -> Envelope:
        return TELEMETRY[kind].model_copy(
            update={"device_id": device_id, "seq": self._seq(device_id), "ts": datetime.now(UTC)}
        )
