"""The outbox on its own: order, acknowledgement, replay after a lost connection, overflow."""

from devices.topics import Channel
from firmware_sim.outbox import Outbox, Outgoing


def message(seq: int) -> Outgoing:
    return Outgoing(seq, Channel.TELEMETRY, "t", b"x")


def taken(outbox: Outbox) -> list[int]:
    seqs = []
    while (next_message := outbox.take()) is not None:
        seqs.append(next_message.seq)
    return seqs


def test_messages_leave_in_order_and_stay_until_acknowledged() -> None:
    outbox = Outbox()
    messages = [message(n) for n in range(5)]
    for m in messages:
        outbox.put(m)
    assert taken(outbox) == [0, 1, 2, 3, 4]
    outbox.ack(messages[0])
    outbox.ack(messages[1])
    assert len(outbox) == 3


def test_a_lost_connection_sends_every_unacknowledged_message_again_in_order() -> None:
    outbox = Outbox()
    messages = [message(n) for n in range(5)]
    for m in messages:
        outbox.put(m)
    taken(outbox)
    outbox.ack(messages[0])
    outbox.ack(messages[3])  # acknowledged out of order: not sent again
    outbox.requeue()
    assert taken(outbox) == [1, 2, 4]
    assert messages[1].attempts == 2


def test_a_full_outbox_drops_the_oldest_and_counts_it() -> None:
    outbox = Outbox(limit=3)
    for n in range(5):
        outbox.put(message(n))
    assert outbox.dropped == 2
    assert taken(outbox) == [2, 3, 4]
