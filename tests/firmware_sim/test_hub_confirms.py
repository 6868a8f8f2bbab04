"""A device that waits for the hub keeps what the broker took until the hub confirms it committed it."""

from datetime import UTC, datetime

import pytest

from devices.kinds import DeviceKind
from devices.payloads import Committed
from devices.topics import Channel
from firmware_sim.outbox import Outbox, Outgoing
from tests.firmware_sim.conftest import StartFleet
from tests.firmware_sim.support import Observer, eventually, small_building

NOW = datetime.now(UTC)
DEVICE = "environment-0"


def test_broker_acknowledged_messages_stay_until_the_hub_confirms_them(
    observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(DeviceKind.ENVIRONMENT), messages_per_device=5, hub_confirms=True)
    device = fleet.device(DEVICE)
    eventually(lambda: device.stats.telemetry_acknowledged == 5, what="the broker took all five readings")
    assert len(device.outbox) == device.next_seq, "nothing is forgotten on the broker's word alone"
    assert not device.done

    observer.send(DEVICE, Committed(id="c1", ts=NOW, ranges=[(0, 1), (3, 3)]))
    eventually(lambda: device.stats.confirmed == 3, what="three confirmed")
    waiting = [message.seq for message in device.outbox if not message.acked]
    assert waiting == [2, *range(4, device.next_seq)]
    observer.send(DEVICE, Committed(id="c2", ts=NOW, ranges=[(2, 2), (4, device.next_seq - 1)]))
    eventually(lambda: device.done, what="the outbox empty once everything is confirmed")
    assert device.stats.commands_refused == 0 and device.stats.commands_obeyed == 0


@pytest.mark.slow
def test_what_the_hub_never_confirms_is_sent_again_with_its_original_numbers(
    observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(DeviceKind.ENVIRONMENT), messages_per_device=3, hub_confirms=True)
    device = fleet.device(DEVICE)
    eventually(lambda: device.stats.unconfirmed_resends >= 1, timeout=15, what="a resend after the timeout")
    eventually(lambda: len(observer.telemetry(DEVICE)) >= 6, what="the readings seen twice")
    seqs = [reading.seq for reading in observer.telemetry(DEVICE)]
    assert sorted(set(seqs)) == sorted(set(seqs[:3])), "the same numbers, not new ones"


def test_an_outbox_forgets_a_confirmed_prefix_and_keeps_a_hole_at_its_head() -> None:
    outbox = Outbox()
    for seq in range(5):
        outbox.put(Outgoing(seq, Channel.TELEMETRY, "t", b"x"))
    while (message := outbox.take()) is not None:
        outbox.deliver(message, at=1.0)
    assert outbox.confirm(lambda seq: seq in (1, 2, 3)) == 3
    assert len(outbox) == 5, "seq 0 still waits at the head"
    oldest = outbox.oldest_unconfirmed()
    assert oldest is not None and oldest.seq == 0
    outbox.requeue()
    assert [m.seq for m in iter(outbox.take, None)] == [0, 4], "only the unconfirmed are sent again"
    assert outbox.confirm(lambda seq: seq in (0, 4)) == 2
    assert len(outbox) == 0
