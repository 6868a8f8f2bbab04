"""Preventive maintenance, safety incidents, cleaning status and the no-login fault report form (issue 5)."""

import html
import logging
from collections import Counter
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.api.access import PUBLIC, allow
from hub.api.deps import NowDep, RowId, SessionDep, StateDep, utc_now
from hub.api.schemas import ErrorBody, InvalidBody
from hub.api.state import AppState
from hub.errors import AtriumError, Forbidden, Invalid, NotFound
from hub.services import asset_labels, cleaning, preventive, safety
from hub.services.principals import Principal, Role
from hub.services.site_secret import site_secret
from hub.settings import Settings
from hub.store.facilities_models import PreventiveSchedule
from hub.store.models import Room

log = logging.getLogger(__name__)
router = APIRouter(tags=["facilities"])

REPORT_PAGE = Path(__file__).resolve().parents[2] / "web" / "report.html"
MAX_FORM_BYTES = 8 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
REPORT_REFUSALS: Counter[str] = Counter()
"""Refused QR reports by reason (bad_key, invalid, too_large, unknown_asset), for operators."""
ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": InvalidBody},
}
Note = Annotated[str | None, Field(default=None, max_length=500)]
Facilities = Annotated[Principal, allow(Role.FACILITIES)]
SAFETY_READERS = allow(Role.FACILITIES, Role.RECEPTION)
"""Reception reads incidents too: it is where an alarm is first asked about."""


class StaffAction(BaseModel):
    """A member of staff acting on an incident, a room or a schedule; the signed-in caller is recorded as who."""

    note: Note = None


# --- safety ---


class IncidentEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    what: str
    actor: str
    note: str | None


class IncidentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    hazard: str
    severity: str
    status: str
    room_id: str | None
    device_id: str
    alarming: list[str]
    alarms: int
    opened_at: datetime
    last_alarm_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    timeline: list[IncidentEntryPublic]


@router.get(
    "/safety/incidents",
    response_model=list[IncidentPublic],
    summary="Safety incidents, newest first",
    dependencies=[SAFETY_READERS],
)
def list_incidents(
    session: SessionDep,
    closed: Annotated[bool, Query(description="Include closed incidents")] = False,
    room: Annotated[str | None, Query(description="Only this room's")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[IncidentPublic]:
    found = safety.list_incidents(session, open_only=not closed, room_id=room, limit=limit)
    return [IncidentPublic.model_validate(incident) for incident in found]


@router.get(
    "/safety/incidents/{incident_id}", response_model=IncidentPublic, responses=ERRORS, dependencies=[SAFETY_READERS]
)
def get_incident(incident_id: RowId, session: SessionDep) -> IncidentPublic:
    return IncidentPublic.model_validate(safety.get_incident(session, incident_id))


@router.post(
    "/safety/incidents/{incident_id}/acknowledge",
    response_model=IncidentPublic,
    responses=ERRORS,
    summary="Staff are dealing with it (the alarm may still sound)",
)
def acknowledge_incident(
    incident_id: RowId, action: StaffAction, caller: Facilities, session: SessionDep, now: NowDep
) -> IncidentPublic:
    incident = safety.acknowledge(session, incident_id=incident_id, by=caller.actor, note=action.note, now=now)
    session.commit()
    return IncidentPublic.model_validate(incident)


@router.post(
    "/safety/incidents/{incident_id}/close",
    response_model=IncidentPublic,
    responses=ERRORS,
    summary="Close a cleared incident; the room is back in order if nothing else is open there",
)
def close_incident(
    incident_id: RowId, action: StaffAction, caller: Facilities, session: SessionDep, now: NowDep
) -> IncidentPublic:
    incident = safety.close(session, incident_id=incident_id, by=caller.actor, note=action.note, now=now)
    session.commit()
    return IncidentPublic.model_validate(incident)


# --- cleaning ---


class CleaningPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    room_id: str
    room_name: str
    since: datetime
    cleaned_by: str | None
    meetings: int
    occupied_minutes: float
    need: float = Field(description="The larger share of either limit; 1.0 or more needs cleaning")
    due: bool


class FloorCleaning(BaseModel):
    floor_id: str
    floor_name: str
    rooms: list[CleaningPublic]


def _cleaning_rules(state: AppState) -> cleaning.CleaningRules:
    return cleaning.CleaningRules.from_settings(state.settings) if state.settings else cleaning.CleaningRules()


@router.get(
    "/cleaning",
    response_model=list[FloorCleaning],
    summary="The cleaning list: per floor, most in need first",
    dependencies=[allow(Role.FACILITIES, Role.RECEPTION)],
)
def cleaning_list(
    session: SessionDep,
    state: StateDep,
    now: NowDep,
    floor: Annotated[str | None, Query(description="Only this floor (its id)")] = None,
    due: Annotated[bool, Query(description="Only rooms that need cleaning now")] = False,
) -> list[FloorCleaning]:
    needs = cleaning.cleaning_needs(session, now=now, rules=_cleaning_rules(state), floor_id=floor)
    floors: dict[str, FloorCleaning] = {}
    for need in needs:
        if due and not need.due:
            continue
        entry = floors.setdefault(
            need.floor_id, FloorCleaning(floor_id=need.floor_id, floor_name=need.floor_name, rooms=[])
        )
        entry.rooms.append(CleaningPublic.model_validate(need))
    return list(floors.values())


@router.post("/cleaning/{room_id}/done", response_model=CleaningPublic, responses=ERRORS, summary="Mark a room cleaned")
def room_cleaned(room_id: str, caller: Facilities, session: SessionDep, state: StateDep, now: NowDep) -> CleaningPublic:
    need = cleaning.mark_cleaned(session, room_id=room_id, by=caller.actor, now=now, rules=_cleaning_rules(state))
    session.commit()
    return CleaningPublic.model_validate(need)


@router.post(
    "/panel/{room_id}/cleaned",
    status_code=204,
    responses=ERRORS,
    summary="Mark the room cleaned from its wall panel (its room's panel key, also as ?token=)",
)
def panel_cleaned(
    room_id: str,
    caller: Annotated[Principal, allow(Role.PANEL, Role.FACILITIES)],
    session: SessionDep,
    state: StateDep,
    now: NowDep,
) -> Response:
    if session.get(Room, room_id) is None:
        raise NotFound(f"no room {room_id!r}")
    cleaning.mark_cleaned(session, room_id=room_id, by=caller.actor, now=now, rules=_cleaning_rules(state))
    session.commit()
    return Response(status_code=204)


# --- preventive maintenance ---


class SchedulePublic(BaseModel):
    id: int
    asset_id: str
    task: str
    kind: str
    every: float
    meter_device_id: str | None
    meter: float = Field(description="Prints or running hours counted so far (0 for calendar schedules)")
    position: float = Field(description="Where the schedule stands, in its unit (days since the epoch for calendars)")
    due_at: float = Field(description="The next due point, in the same unit")
    opens_at: float = Field(description="When its ticket opens, in the same unit (the due point less the lead)")
    last_done_at: datetime
    last_ticket_id: RowId | None
    source: str
    active: bool


def _leads(state: AppState) -> preventive.Leads:
    return preventive.Leads.from_settings(state.settings) if state.settings else preventive.Leads()


def _schedule_public(schedule: PreventiveSchedule, leads: preventive.Leads, now: datetime) -> SchedulePublic:
    due = preventive.due_point(schedule)
    return SchedulePublic(
        id=schedule.id,
        asset_id=schedule.asset_id,
        task=schedule.task,
        kind=schedule.kind,
        every=schedule.every,
        meter_device_id=schedule.meter_device_id,
        meter=schedule.meter,
        position=round(preventive.position(schedule, now), 3),
        due_at=round(due, 3),
        opens_at=round(due - preventive.lead(schedule, leads), 3),
        last_done_at=schedule.last_done_at,
        last_ticket_id=schedule.last_ticket_id,
        source=schedule.source,
        active=schedule.active,
    )


@router.get(
    "/preventive",
    response_model=list[SchedulePublic],
    summary="Preventive maintenance schedules",
    dependencies=[allow(Role.FACILITIES)],
)
def list_schedules(
    session: SessionDep, state: StateDep, now: NowDep, asset: Annotated[str | None, Query()] = None
) -> list[SchedulePublic]:
    leads = _leads(state)
    return [_schedule_public(s, leads, now) for s in preventive.list_schedules(session, asset_id=asset)]


@router.post(
    "/preventive",
    response_model=SchedulePublic,
    status_code=201,
    responses=ERRORS,
    dependencies=[allow(Role.FACILITIES)],
)
def create_schedule(spec: preventive.ScheduleSpec, session: SessionDep, state: StateDep, now: NowDep) -> SchedulePublic:
    """Add a schedule: exactly one of every_days, every_prints, every_running_hours."""
    schedule = preventive.create_schedule(session, spec=spec, source="api", now=now)
    preventive.check_schedule(session, schedule, now=now, leads=_leads(state))
    session.commit()
    return _schedule_public(schedule, _leads(state), now)


@router.post("/preventive/{schedule_id}/done", response_model=SchedulePublic, responses=ERRORS)
def schedule_done(
    schedule_id: RowId,
    caller: Facilities,
    session: SessionDep,
    state: StateDep,
    now: NowDep,
) -> SchedulePublic:
    """The work was done: the next cycle counts from now."""
    schedule = preventive.mark_done(session, schedule_id=schedule_id, by=caller.actor, now=now)
    session.commit()
    return _schedule_public(schedule, _leads(state), now)


# --- asset labels and the no-login report form ---


def _settings(state: AppState) -> Settings:
    return state.settings


def _label(state: AppState, session: SessionDep, request: Request, asset_id: str) -> tuple[asset_labels.LabelText, str]:
    settings = _settings(state)
    text = asset_labels.label_text(session, asset_id)
    base = settings.report_base_url or str(request.base_url)
    return text, asset_labels.report_url(base, site_secret(settings), asset_id)


@router.get(
    "/assets/{asset_id:path}/label.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"model": ErrorBody}},
    summary="A printable QR label that opens the asset's fault report form",
    dependencies=[allow(Role.FACILITIES)],
)
def asset_label_png(asset_id: str, request: Request, state: StateDep, session: SessionDep) -> Response:
    text, url = _label(state, session, request, asset_id)
    return Response(asset_labels.render_label_png(text, url), media_type="image/png")


@router.get(
    "/assets/{asset_id:path}/label.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, 404: {"model": ErrorBody}},
    summary="The asset's QR label as SVG",
    dependencies=[allow(Role.FACILITIES)],
)
def asset_label_svg(asset_id: str, request: Request, state: StateDep, session: SessionDep) -> Response:
    text, url = _label(state, session, request, asset_id)
    return Response(asset_labels.render_label_svg(text, url), media_type="image/svg+xml")


def _page(
    text: asset_labels.LabelText,
    *,
    action: str,
    message: str = "",
    error: bool = False,
    form: dict[str, str] | None = None,
    show_form: bool = True,
) -> str:
    form = form or {}
    box = f'<p class="message{" error" if error else ""}" role="status">{html.escape(message)}</p>' if message else ""
    return Template(REPORT_PAGE.read_text(encoding="utf-8")).substitute(
        name=html.escape(text.name),
        location=html.escape(text.location),
        message=box,
        action=html.escape(action),
        form_hidden="" if show_form else "hidden",
        what=html.escape(form.get("what", "")),
        reporter=html.escape(form.get("name", "")),
        email=html.escape(form.get("email", "")),
        max_what=asset_labels.MAX_WHAT,
        max_name=asset_labels.MAX_NAME,
        max_email=asset_labels.MAX_EMAIL,
    )


def _refused(reason: str, asset_id: str, error: AtriumError) -> HTMLResponse:
    REPORT_REFUSALS[reason] += 1
    log.info("QR report for %r refused (%s): %s", asset_id, reason, error)
    body = f"<!doctype html><meta charset='utf-8'><title>Cannot report</title><p>{html.escape(str(error))}</p>"
    return HTMLResponse(body, status_code=error.status_code)


def _open_form(state: AppState, asset_id: str, key: str | None) -> asset_labels.LabelText:
    settings = _settings(state)
    with state.database.sessions() as session:
        text = asset_labels.label_text(session, asset_id)
    asset_labels.check_report_token(site_secret(settings), asset_id, key)
    return text


KeyQuery = Annotated[str | None, Query(max_length=64, description="The key printed in the asset's QR label")]


@router.get(
    "/report/{asset_id:path}",
    response_class=HTMLResponse,
    summary="The no-login fault report form (the label's signed link is its key)",
    dependencies=[PUBLIC],
)
def report_form(asset_id: str, request: Request, state: StateDep, k: KeyQuery = None) -> HTMLResponse:
    try:
        text = _open_form(state, asset_id, k)
    except NotFound as error:
        return _refused("unknown_asset", asset_id, error)
    except Forbidden as error:
        return _refused("bad_key", asset_id, error)
    return HTMLResponse(_page(text, action=str(request.url)))


@router.post(
    "/report/{asset_id:path}",
    response_class=HTMLResponse,
    status_code=201,
    summary="Send the report form (what, name, email; form-encoded): opens or adds to the asset's ticket",
    dependencies=[PUBLIC],
)
async def report_submit(asset_id: str, request: Request, state: StateDep, k: KeyQuery = None) -> HTMLResponse:
    try:
        text = await run_in_threadpool(_open_form, state, asset_id, k)
    except NotFound as error:
        return _refused("unknown_asset", asset_id, error)
    except Forbidden as error:
        return _refused("bad_key", asset_id, error)
    form: dict[str, str] = {}
    try:
        form = await _read_form(request)
        report = asset_labels.Report.checked(what=form.get("what"), name=form.get("name"), email=form.get("email"))
    except Invalid as error:
        REPORT_REFUSALS["invalid"] += 1
        log.info("QR report for %r refused: %s", asset_id, error)
        page = _page(text, action=str(request.url), message=str(error), error=True, form=form)
        return HTMLResponse(page, status_code=error.status_code)
    ticket_id = await run_in_threadpool(_submit, state, asset_id, report)
    thanks = f"Thank you: facilities have it as ticket {ticket_id}. You can close this page."
    return HTMLResponse(_page(text, action=str(request.url), message=thanks, show_form=False), status_code=201)


async def _read_form(request: Request) -> dict[str, str]:
    """The form's fields (first value of each), refusing other encodings and oversize bodies."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        raise Invalid(f"send the form as {FORM_TYPE}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Invalid(f"the form is larger than {MAX_FORM_BYTES // 1024} KiB")
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise Invalid("the form could not be read") from None
    return {name: values[0] for name, values in fields.items() if name in {"what", "name", "email"}}


def _submit(state: AppState, asset_id: str, report: asset_labels.Report) -> int:
    with state.database.sessions.begin() as session:
        ticket = asset_labels.submit_report(session, asset_id=asset_id, report=report, now=utc_now())
        return ticket.id
