"""A flooding device over a real broker: its excess is dropped and counted, other devices are untouched."""

import sqlalchemy as sa

from devices.topics import Channel, device_topic
from hub.runtime import Hub
from hub.store.models import DeviceMessage
from hub.store.registry import ingest_totals
from hub.store.ticket_models import Ticket
from tests.brokers import TestBroker
from tests.helpers import Publisher, environment_payload, wait_for
from tests.hub.conftest import StartHub


def _stored(hub: Hub, device_id: str) -> int:
    assert hub.database is not None
    with hub.database.sessions() as session:
        query = sa.select(sa.func.count()).select_from(DeviceMessage).where(DeviceMessage.device_id == device_id)
        return session.scalar(query) or 0


def _rejected(hub: Hub) -> dict[str, int]:
    assert hub.database is not None
    with hub.database.sessions() as session:
        by_reason = ingest_totals(session)["rejected_by_reason"]
    assert isinstance(by_reason, dict)
    return by_reason


def test_a_flooding_device_is_held_to_its_rate_while_others_are_stored_in_full(
    broker: TestBroker, start_hub: StartHub
) -> None:
    hub = start_hub(building="synthetic:20", device_rate_per_s=2.0, device_burst=20)
    environment = [d.id for _, _, d in hub.building.devices() if d.kind.value == "environment"]
    flooder, quiet = environment[0], environment[1]
    publisher = Publisher(broker.endpoint, max_inflight=200)
    flood = [
        publisher.client.publish(
            device_topic(hub.site_id, flooder, Channel.TELEMETRY), environment_payload(flooder, seq), qos=1
        )
        for seq in range(200)
    ]
    for seq in range(10):
        publisher.publish(device_topic(hub.site_id, quiet, Channel.TELEMETRY), environment_payload(quiet, seq))
    for info in flood:
        info.wait_for_publish(10)
    publisher.close()

    wait_for(lambda: _stored(hub, quiet) == 10, what="every one of the quiet device's readings stored")
    wait_for(
        lambda: _stored(hub, flooder) + _rejected(hub).get("rate_limited", 0) == 200,
        what="every one of the flood's messages stored or refused",
    )
    stored = _stored(hub, flooder)
    assert 20 <= stored < 100, f"the burst passes, the flood does not ({stored} of 200 stored)"
    assert _rejected(hub) == {"rate_limited": 200 - stored}
    flooding = _tickets(hub, fault_type="flooding")
    assert [(t.asset_id, t.status) for t in flooding] == [(flooder, "open")], "one ticket, not one per message"
    assert flooding[0].occurrences >= 1


def _tickets(hub: Hub, *, fault_type: str) -> list[Ticket]:
    assert hub.database is not None
    with hub.database.sessions() as session:
        return list(session.scalars(sa.select(Ticket).where(Ticket.fault_type == fault_type)))
