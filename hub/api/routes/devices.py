"""The device registry: list and filter devices, one device with its latest readings."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from devices.kinds import DeviceKind
from devices.topics import Channel
from hub.api.access import allow
from hub.api.deps import MAX_OFFSET, NowDep, SessionDep, StateDep
from hub.api.schemas import DeviceDetail, DevicePublic, ErrorBody, Reading
from hub.api.schemas_gaps import DeviceGaps, SeqGapPublic
from hub.services.principals import Role
from hub.settings import Settings
from hub.store import registry
from hub.store.models import Device, DeviceMessage
from hub.store.seq_gaps import scan_gaps

router = APIRouter(prefix="/devices", tags=["devices"], dependencies=[allow(Role.FACILITIES, Role.INTEGRATION)])


def _public(device: Device) -> dict[str, object]:
    return {
        "id": device.id,
        "kind": device.kind,
        "room_id": device.room_id,
        "floor_id": device.room.floor_id if device.room else None,
        "model": device.model,
        "firmware": device.firmware,
        "online": device.online,
        "first_seen": device.first_seen,
        "last_seen": device.last_seen,
        "last_seq": device.last_seq,
    }


def _reading(message: DeviceMessage | None) -> Reading | None:
    if message is None:
        return None
    return Reading(
        seq=message.seq,
        channel=message.channel,
        device_ts=message.device_ts,
        received_at=message.received_at,
        data=message.data,
    )


@router.get("", response_model=list[DevicePublic], summary="Devices of the site, filtered")
def list_devices(
    session: SessionDep,
    room: Annotated[str | None, Query(description="Only this room's devices")] = None,
    floor: Annotated[str | None, Query(description="Only this floor's devices")] = None,
    kind: Annotated[DeviceKind | None, Query(description="Only devices of this kind")] = None,
    online: Annotated[bool | None, Query(description="Only online (true) or offline (false) devices")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[DevicePublic]:
    devices = registry.list_devices(
        session,
        room_id=room,
        floor_id=floor,
        kind=kind.value if kind else None,
        online=online,
        limit=limit,
        offset=offset,
    )
    return [DevicePublic.model_validate(_public(d)) for d in devices]


@router.get(
    "/{device_id}/gaps",
    response_model=DeviceGaps,
    responses={404: {"model": ErrorBody}},
    summary="Sequence numbers the device sent that never arrived (lost, or a replay still to come)",
)
def get_device_gaps(device_id: str, session: SessionDep, state: StateDep, now: NowDep) -> DeviceGaps:
    registry.get_device(session, device_id)
    settings = state.settings or Settings()
    scan = scan_gaps(
        session,
        device_id,
        since_seq=None,
        settled_before=now - timedelta(seconds=settings.seq_gap_grace_s),
        max_span=settings.seq_gap_max_span,
    )
    return DeviceGaps(
        device_id=device_id,
        missing=sum(gap.missing for gap in scan.settled),
        gaps=[SeqGapPublic(first=gap.first, last=gap.last) for gap in scan.settled],
        grace_s=settings.seq_gap_grace_s,
    )


@router.get(
    "/{device_id}",
    response_model=DeviceDetail,
    responses={404: {"model": ErrorBody}},
    summary="One device with its latest telemetry and event",
)
def get_device(device_id: str, session: SessionDep) -> DeviceDetail:
    device = registry.get_device(session, device_id)
    return DeviceDetail.model_validate(
        {
            **_public(device),
            "report_interval_s": device.report_interval_s,
            "availability_changed_at": device.availability_changed_at,
            "latest_telemetry": _reading(registry.latest_message(session, device_id, Channel.TELEMETRY.value)),
            "latest_event": _reading(registry.latest_message(session, device_id, Channel.EVENT.value)),
        }
    )
