"""Safety incidents: a smoke, CO or leak alarm opens a critical incident at once and takes the room out of use.

A safety sensor repeats its flags in every reading while an alarm lasts, so the reaction keeps one
open incident per place (room, or the device when it has no room) and hazard: the first alarm
opens it, notifies every team named in ``ATRIUM_SAFETY_NOTIFY`` and marks the room out of order on
its door display; repeats are counted, another device's alarm or an alarm after clearing adds a
timeline entry. When every alarming device reads clear again the incident is ``cleared``; the room
stays out of order until staff close the incident (somebody has to look at the water or the smoke).
"""

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devices.payloads import SafetyTelemetry
from hub.errors import Conflict, NotFound
from hub.services.notifications import NotificationKind, notify
from hub.services.reactions import NewMessage
from hub.services.room_displays import mark_room_changed, room_live
from hub.settings import Settings
from hub.store.audit import record
from hub.store.facilities_models import Hazard, IncidentEntry, IncidentStatus, SafetyIncident
from hub.store.models import Device, Room
from hub.store.registry import get_site

log = logging.getLogger(__name__)

CO_PLAUSIBLE_MAX_PPM = 10_000.0
"""Above this a CO reading is a broken sensor (an out-of-range fault for the tickets), not an alarm."""
HUB = "hub"
HAZARD_NAMES = {Hazard.SMOKE: "Smoke", Hazard.CO: "Carbon monoxide", Hazard.LEAK: "Water leak"}


@dataclass(frozen=True, slots=True)
class SafetyRules:
    """When a reading is an alarm, and who hears of it."""

    co_alarm_ppm: float = 100.0
    notify: tuple[str, ...] = ("facilities", "reception")

    @classmethod
    def from_settings(cls, settings: Settings) -> "SafetyRules":
        teams = tuple(team.strip() for team in settings.safety_notify.split(",") if team.strip())
        return cls(co_alarm_ppm=settings.safety_co_alarm_ppm, notify=teams)


def hazards_raised(reading: SafetyTelemetry, rules: SafetyRules) -> set[Hazard]:
    """The alarms a reading raises."""
    raised = set()
    if reading.smoke:
        raised.add(Hazard.SMOKE)
    if rules.co_alarm_ppm <= reading.co_ppm <= CO_PLAUSIBLE_MAX_PPM:
        raised.add(Hazard.CO)
    if reading.leak:
        raised.add(Hazard.LEAK)
    return raised


def react_to_safety_readings(
    session: Session, news: Sequence[NewMessage], _now: datetime, *, rules: SafetyRules
) -> None:
    """The reaction: open, extend or clear the devices' incidents from a batch of readings, in order.

    The batch's devices and the open incidents they could touch are loaded in two queries, so a
    reading that changes nothing costs no query of its own.
    """
    devices = {
        device.id: device
        for device in session.scalars(sa.select(Device).where(Device.id.in_(sorted({n.device_id for n in news}))))
    }
    keys = {_open_key(device, hazard) for device in devices.values() for hazard in Hazard}
    incidents = _OpenIncidents(session, keys)
    for new in news:
        reading = new.message
        assert isinstance(reading, SafetyTelemetry)
        device = devices.get(new.device_id)
        if device is None:
            continue
        raised = hazards_raised(reading, rules)
        for hazard in Hazard:
            if hazard in raised:
                raise_alarm(session, device=device, hazard=hazard, at=reading.ts, rules=rules, incidents=incidents)
            else:
                clear_alarm(session, device=device, hazard=hazard, at=reading.ts, incidents=incidents)


def react_to_safety_reading(session: Session, new: NewMessage, now: datetime, *, rules: SafetyRules) -> None:
    """The reaction to one reading (see react_to_safety_readings)."""
    react_to_safety_readings(session, [new], now, rules=rules)


def _open_key(device: Device, hazard: Hazard) -> str:
    place = f"room:{device.room_id}" if device.room_id else f"device:{device.id}"
    return f"{place}:{hazard.value}"


def _open_incident(session: Session, key: str) -> SafetyIncident | None:
    return session.scalar(sa.select(SafetyIncident).where(SafetyIncident.open_key == key))


class _OpenIncidents:
    """The open incidents of a known set of places and hazards, loaded at once; others are asked for."""

    def __init__(self, session: Session, keys: Collection[str]) -> None:
        self.keys = set(keys)
        query = sa.select(SafetyIncident).where(SafetyIncident.open_key.in_(sorted(self.keys)))
        self.found: dict[str, SafetyIncident] = {
            incident.open_key: incident for incident in session.scalars(query) if incident.open_key is not None
        }

    def get(self, session: Session, key: str) -> SafetyIncident | None:
        if key in self.keys:
            return self.found.get(key)
        return _open_incident(session, key)

    def opened(self, key: str, incident: SafetyIncident) -> None:
        self.keys.add(key)
        self.found[key] = incident


def raise_alarm(
    session: Session,
    *,
    device: Device,
    hazard: Hazard,
    at: datetime,
    rules: SafetyRules,
    incidents: _OpenIncidents | None = None,
) -> SafetyIncident:
    """An alarm reading: the place's open incident for the hazard, opened now if there is none."""
    key = _open_key(device, hazard)
    incident = incidents.get(session, key) if incidents is not None else _open_incident(session, key)
    if incident is None:
        try:
            with session.begin_nested():
                incident = _new_incident(session, key=key, device=device, hazard=hazard, at=at, rules=rules)
            if incidents is not None:
                incidents.opened(key, incident)
            return incident
        except IntegrityError:  # another worker opened it a moment ago: join it
            incident = _open_incident(session, key)
            assert incident is not None
            if incidents is not None:
                incidents.opened(key, incident)
    if incident.status == IncidentStatus.CLEARED and incident.cleared_at is not None and at <= incident.cleared_at:
        return incident  # an old reading replayed from the device's buffer, from before it cleared
    incident.alarms += 1
    incident.last_alarm_at = max(incident.last_alarm_at, at)
    if device.id not in incident.alarming:
        again = incident.status == IncidentStatus.CLEARED
        incident.alarming = sorted({*incident.alarming, device.id})
        incident.status = IncidentStatus.ACTIVE.value
        incident.cleared_at = None
        _entry(incident, at, "alarm_again" if again else "alarm", device.id, f"{device.id} raised the alarm")
        if again:
            _notify(session, incident, at, rules, what="again")
    return incident


def clear_alarm(
    session: Session, *, device: Device, hazard: Hazard, at: datetime, incidents: _OpenIncidents | None = None
) -> SafetyIncident | None:
    """A reading without the alarm: the device no longer alarms; the incident clears when none does."""
    key = _open_key(device, hazard)
    incident = incidents.get(session, key) if incidents is not None else _open_incident(session, key)
    if incident is None or device.id not in incident.alarming:
        return incident
    incident.alarming = [other for other in incident.alarming if other != device.id]
    if not incident.alarming:
        incident.status = IncidentStatus.CLEARED.value
        incident.cleared_at = at
        _entry(incident, at, "cleared", device.id, "every alarm has stopped; staff must close the incident")
    return incident


def _new_incident(
    session: Session, *, key: str, device: Device, hazard: Hazard, at: datetime, rules: SafetyRules
) -> SafetyIncident:
    incident = SafetyIncident(
        hazard=hazard.value,
        severity="critical",
        status=IncidentStatus.ACTIVE.value,
        room_id=device.room_id,
        device_id=device.id,
        open_key=key,
        alarming=[device.id],
        alarms=1,
        opened_at=at,
        last_alarm_at=at,
    )
    session.add(incident)
    _entry(incident, at, "detected", device.id, f"{HAZARD_NAMES[hazard]} detected by {device.id}")
    session.flush()
    if device.room_id is not None:
        live = room_live(session, device.room_id)
        live.out_of_order = True
        mark_room_changed(session, device.room_id)
        _entry(incident, at, "out_of_order", HUB, "the room is shown out of order on its door display")
    _notify(session, incident, at, rules, what="detected")
    record(
        session,
        actor=HUB,
        action="safety.detected",
        object_type="safety_incident",
        object_id=incident.id,
        now=at,
        detail={"hazard": hazard.value, "room": device.room_id, "device": device.id},
    )
    log.warning("safety incident %d: %s at %s (%s)", incident.id, hazard.value, device.room_id or "-", device.id)
    return incident


def _where(session: Session, incident: SafetyIncident) -> str:
    room = session.get(Room, incident.room_id) if incident.room_id else None
    return f"{room.name} ({room.floor.name})" if room is not None else f"the place of device {incident.device_id}"


def _notify(session: Session, incident: SafetyIncident, at: datetime, rules: SafetyRules, *, what: str) -> None:
    where = _where(session, incident)
    hazard = HAZARD_NAMES[Hazard(incident.hazard)]
    subject = f"CRITICAL: {hazard.lower()} in {where}" + (" again" if what == "again" else "")
    text = (
        f"{hazard} alarm in {where}, from {', '.join(incident.alarming)}, at {at.isoformat(timespec='seconds')}. "
        f"Safety incident {incident.id}; the room is out of order until staff close the incident."
    )
    site_id = get_site(session).id
    for team in rules.notify:
        notify(
            session,
            site_id=site_id,
            kind=NotificationKind.SAFETY_INCIDENT,
            to=team,
            subject=subject,
            text=text,
            room_id=incident.room_id,
            now=at,
        )
    if rules.notify:
        _entry(incident, at, "notified", HUB, f"told {', '.join(rules.notify)}")


def _entry(incident: SafetyIncident, at: datetime, what: str, actor: str, note: str | None = None) -> None:
    incident.timeline.append(IncidentEntry(at=at, what=what, actor=actor, note=note))


def get_incident(session: Session, incident_id: int) -> SafetyIncident:
    incident = session.get(SafetyIncident, incident_id)
    if incident is None:
        raise NotFound(f"no safety incident {incident_id}")
    return incident


def list_incidents(
    session: Session, *, open_only: bool = True, room_id: str | None = None, limit: int = 100
) -> Sequence[SafetyIncident]:
    """Incidents, newest first; by default those not yet closed."""
    query = sa.select(SafetyIncident).order_by(SafetyIncident.opened_at.desc(), SafetyIncident.id.desc()).limit(limit)
    if open_only:
        query = query.where(SafetyIncident.status != IncidentStatus.CLOSED.value)
    if room_id is not None:
        query = query.where(SafetyIncident.room_id == room_id)
    return session.scalars(query).all()


def acknowledge(session: Session, *, incident_id: int, by: str, note: str | None, now: datetime) -> SafetyIncident:
    """Staff say they are on it; the alarm may still be sounding."""
    incident = get_incident(session, incident_id)
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict(f"safety incident {incident_id} is closed")
    if incident.acknowledged_at is not None:
        raise Conflict(f"safety incident {incident_id} was already acknowledged by {incident.acknowledged_by}")
    incident.acknowledged_at = now
    incident.acknowledged_by = by
    _entry(incident, now, "acknowledged", by, note)
    record(
        session, actor=by, action="safety.acknowledge", object_type="safety_incident", object_id=incident.id, now=now
    )
    return incident


def close(session: Session, *, incident_id: int, by: str, note: str | None, now: datetime) -> SafetyIncident:
    """Staff close a cleared incident; the room is back in order when it has no other open incident."""
    incident = get_incident(session, incident_id)
    if incident.status == IncidentStatus.CLOSED:
        raise Conflict(f"safety incident {incident_id} is already closed")
    if incident.status == IncidentStatus.ACTIVE:
        raise Conflict(
            f"safety incident {incident_id} cannot be closed while its alarm still sounds "
            f"({', '.join(incident.alarming)}); it closes once every alarm has stopped"
        )
    incident.status = IncidentStatus.CLOSED.value
    incident.closed_at = now
    incident.closed_by = by
    incident.open_key = None
    _entry(incident, now, "closed", by, note)
    record(session, actor=by, action="safety.close", object_type="safety_incident", object_id=incident.id, now=now)
    session.flush()
    if incident.room_id is not None and not list_incidents(session, room_id=incident.room_id, limit=1):
        room_live(session, incident.room_id).out_of_order = False
        mark_room_changed(session, incident.room_id)
        _entry(incident, now, "back_in_order", HUB, "the room's door display is back to normal")
    return incident
