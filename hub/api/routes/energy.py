"""Energy rollups and the facilities dashboard (issue 5)."""

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from hub.api.access import PUBLIC, allow
from hub.api.deps import NowDep, SessionDep, SiteZoneDep, StateDep
from hub.api.schemas import InvalidBody
from hub.api.schemas_energy import AfterHoursPublic, EnergyReportPublic
from hub.api.state import AppState
from hub.services import energy
from hub.services.cleaning import CleaningRules
from hub.services.facilities_dashboard import FacilitiesSummary, facilities_summary
from hub.services.principals import Role
from hub.settings import Settings

router = APIRouter(tags=["energy"])
PAGE = Path(__file__).resolve().parents[2] / "web" / "dashboard.html"
ERRORS: dict[int | str, dict[str, object]] = {422: {"model": InvalidBody}}
FirstDay = Annotated[date | None, Query(alias="from", description="First local day; default: today")]
LastDay = Annotated[date | None, Query(alias="to", description="Last local day (included); default: from")]


def _settings(state: AppState) -> Settings:
    return state.settings


@router.get(
    "/energy",
    response_model=EnergyReportPublic,
    responses=ERRORS,
    summary="kWh per room, floor or site, per hour or per local day (hourly: 31 days at most)",
    dependencies=[allow(Role.FACILITIES, Role.INTEGRATION)],
)
def energy_report(
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    by: Annotated[energy.Group, Query(description="What the kWh are summed over")] = energy.Group.ROOM,
    period: Annotated[energy.Period, Query(description="One bucket per hour or per local day")] = energy.Period.DAY,
    first_day: FirstDay = None,
    last_day: LastDay = None,
) -> EnergyReportPublic:
    first = first_day or (last_day or now.astimezone(zone).date())
    report = energy.energy_report(session, group=by, period=period, first_day=first, last_day=last_day or first)
    return EnergyReportPublic.of(report)


@router.get(
    "/energy/after-hours",
    response_model=AfterHoursPublic,
    responses=ERRORS,
    summary="Energy used in empty rooms outside office hours (weekday hours from ATRIUM_ENERGY_OFFICE_HOURS)",
    dependencies=[allow(Role.FACILITIES, Role.INTEGRATION)],
)
def energy_after_hours(
    session: SessionDep,
    state: StateDep,
    zone: SiteZoneDep,
    now: NowDep,
    first_day: Annotated[
        date | None, Query(alias="from", description="First local day; default: 6 days before to")
    ] = None,
    last_day: Annotated[date | None, Query(alias="to", description="Last local day (included); default: today")] = None,
) -> AfterHoursPublic:
    settings = _settings(state)
    last = last_day or now.astimezone(zone).date()
    first = first_day or last - timedelta(days=6)
    hours = energy.OfficeHours.parse(settings.energy_office_hours)
    flagged = energy.after_hours_use(
        session, first_day=first, last_day=last, office_hours=hours, min_kwh=settings.energy_after_hours_min_kwh
    )
    return AfterHoursPublic.of(
        flagged,
        first_day=first,
        last_day=last,
        timezone=zone.key,
        office_hours=str(hours),
        min_kwh=settings.energy_after_hours_min_kwh,
    )


@router.get(
    "/facilities",
    response_class=HTMLResponse,
    tags=["facilities"],
    summary="The facilities dashboard page (it holds no data; it signs in and reads /facilities/summary)",
    dependencies=[PUBLIC],
)
def facilities_page() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"})


@router.get(
    "/facilities/summary",
    response_model=FacilitiesSummary,
    tags=["facilities"],
    dependencies=[allow(Role.FACILITIES, Role.RECEPTION)],
    summary="The dashboard's data: open tickets by priority and age, devices offline, energy per floor today, "
    "rooms needing cleaning, active safety incidents",
)
def facilities_summary_route(session: SessionDep, state: StateDep, now: NowDep) -> FacilitiesSummary:
    return facilities_summary(session, now=now, cleaning_rules=CleaningRules.from_settings(_settings(state)))
