"""The outbox on its own: order, acknowledgement, what goes again after a lost connection or a gap, overflow."""

from devices.topics import Channel
from firmware_sim.outbox import Outbox, Outgoing


def message(seq: int) -> Outgoing:
    return Outgoing(seq, Channel.TELEMETRY, "t", b"x")


def filled(count: int) -> tuple[Outbox, list[Outgoing]]:
    outbox = Outbox()
    messages = [message(n) for n in range(count)]
    for m in messages:
        outbox.put(m)
    return outbox, messages


def taken(outbox: Outbox) -> list[int]:
    seqs = []
    while (next_message := outbox.take()) is not None:
        seqs.append(next_message.seq)
    return seqs


def test_messages_leave_in_order_and_stay_until_acknowledged() -> None:
    outbox, messages = filled(5)
    assert taken(outbox) == [0, 1, 2, 3, 4]
    outbox.ack(messages[0])
    outbox.ack(messages[1])
    assert len(outbox) == 3


def test_a_lost_connection_sends_every_unacknowledged_message_again_in_order() -> None:
    outbox, messages = filled(5)
    taken(outbox)
    outbox.ack(messages[0])
    outbox.ack(messages[3])  # acknowledged out of order: not sent again
    outbox.connection_lost()
    assert taken(outbox) == [1, 2, 4]
    assert messages[1].attempts == 2


def test_waiting_for_the_hub_a_lost_connection_resends_only_what_the_broker_never_acknowledged() -> None:
    outbox, messages = filled(5)
    taken(outbox)
    for m in messages[:3]:
        outbox.deliver(m, at=0.0)
    outbox.connection_lost()
    assert taken(outbox) == [3, 4], "the broker has 0-2: they wait for the hub, not for a reconnect"
    assert len(outbox) == 5


def test_what_the_hub_went_past_goes_again_after_the_timeout_and_only_that() -> None:
    outbox, messages = filled(5)
    taken(outbox)
    for m in messages:
        outbox.deliver(m, at=0.0)
    outbox.connection_lost()  # e.g. the broker was killed: 0-4 may be lost
    assert taken(outbox) == []
    outbox.confirm(lambda seq: seq == 3)
    assert outbox.overdue(now=1.0, timeout=5.0) == 0, "within the timeout the confirmations may still come"
    assert outbox.overdue(now=5.0, timeout=5.0) == 3
    assert taken(outbox) == [0, 1, 2], "4 was acknowledged after 3: the hub may not have reached it yet"
    assert outbox.overdue(now=60.0, timeout=5.0) == 0, "0-2 are in flight again, 4 is not behind a confirmed one"
    assert messages[0].attempts == 2 and messages[4].attempts == 1


def test_a_silent_hub_gets_one_probe_and_once_it_is_confirmed_what_is_older_goes_again() -> None:
    outbox, messages = filled(4)
    taken(outbox)
    for m in messages:
        outbox.deliver(m, at=0.0)
    assert outbox.probe() is messages[3], "the last the broker took: its confirmation shows the hub went past the rest"
    assert taken(outbox) == [3]
    outbox.deliver(messages[3], at=10.0)
    assert outbox.probe() is messages[3], "sent again, it is still the last first acknowledged"
    assert taken(outbox) == [3]
    outbox.deliver(messages[3], at=20.0)
    outbox.confirm(lambda seq: seq == 3)
    assert outbox.overdue(now=20.0, timeout=5.0) == 3
    assert taken(outbox) == [0, 1, 2]


def test_a_message_sent_twice_and_confirmed_shows_only_that_the_hub_went_past_its_first_copy() -> None:
    outbox, messages = filled(3)
    assert taken(outbox) == [0, 1, 2]
    outbox.deliver(messages[0], at=0.0)
    assert outbox.probe() is messages[0]
    assert taken(outbox) == [0]
    outbox.deliver(messages[1], at=1.0)
    outbox.deliver(messages[2], at=1.0)
    outbox.deliver(messages[0], at=2.0)  # its second copy went after 1 and 2
    outbox.confirm(lambda seq: seq == 0)  # maybe the first copy: the hub need not have reached 1 and 2
    assert outbox.overdue(now=60.0, timeout=5.0) == 0


def test_a_full_outbox_drops_the_oldest_and_counts_it() -> None:
    outbox = Outbox(limit=3)
    for n in range(5):
        outbox.put(message(n))
    assert outbox.dropped == 2
    assert taken(outbox) == [2, 3, 4]
