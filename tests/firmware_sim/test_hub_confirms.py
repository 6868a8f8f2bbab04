"""A device that waits for the hub keeps what the broker took until the hub confirms it committed it."""

from datetime import UTC, datetime

from devices.kinds import DeviceKind
from devices.payloads import Committed
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


def test_a_silent_hub_is_probed_with_the_last_message_and_once_it_is_confirmed_the_rest_go_again(
    observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(
        small_building(DeviceKind.ENVIRONMENT),
        messages_per_device=3,
        interval_s=0.05,
        hub_confirms=True,
        confirm_timeout_s=1.0,
    )
    device = fleet.device(DEVICE)
    eventually(lambda: device.stats.unconfirmed_resends >= 1, what="a probe after the timeout")
    eventually(lambda: observer.seqs(DEVICE).count(3) >= 2, what="the probe seen")
    seqs = observer.seqs(DEVICE)
    assert {seq for seq in seqs if seqs.count(seq) > 1} == {3}, "only the last, with its original number"

    observer.send(DEVICE, Committed(id="c1", ts=NOW, ranges=[(3, 3)]))
    eventually(lambda: all(observer.seqs(DEVICE).count(seq) >= 2 for seq in (0, 1, 2)), what="0-2 sent again")
    observer.send(DEVICE, Committed(id="c2", ts=NOW, ranges=[(0, device.next_seq - 1)]))
    eventually(lambda: device.done, what="the outbox empty once everything is confirmed")


def test_by_default_a_device_waits_for_the_hub_only_once_the_hub_has_confirmed_something(
    observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(DeviceKind.ENVIRONMENT), messages_per_device=3, interval_s=0.5)
    device = fleet.device(DEVICE)
    eventually(lambda: device.stats.acknowledged >= 1, what="the state acknowledged")
    assert not device.hub_confirms and len(device.outbox) < device.next_seq, "no hub confirms: the PUBACK is enough"

    observer.send(DEVICE, Committed(id="c1", ts=NOW, ranges=[(0, 0)]))
    eventually(lambda: device.hub_confirms, what="the device to wait for the hub from its first confirmation")
    eventually(lambda: device.stats.telemetry == 3, what="three readings")
    eventually(lambda: device.stats.acknowledged == device.next_seq, what="all acknowledged by the broker")
    assert not device.done, "the readings after the first confirmation wait for the hub"
    observer.send(DEVICE, Committed(id="c2", ts=NOW, ranges=[(0, device.next_seq - 1)]))
    eventually(lambda: device.done, what="done once the hub confirmed them")
