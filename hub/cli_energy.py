"""``atrium energy``: kWh per room, floor or site from the hub's hourly rollups, for facilities managers."""

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.errors import AtriumError
from hub.services.energy import AfterHoursUse, EnergyReport, Group, OfficeHours, Period

energy_app = typer.Typer(help="Energy: kWh per room, floor and site, and waste after hours.", no_args_is_help=True)


@energy_app.command("report")
def report(
    by: Annotated[Group, typer.Option("--by", help="Sum per room, floor or the whole site")] = Group.ROOM,
    day: Annotated[bool, typer.Option("--day", help="One column per local day (default: the range's total)")] = False,
    first_day: Annotated[
        datetime | None,
        typer.Option("--from", help="First day (default: --to)", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD"),
    ] = None,
    last_day: Annotated[
        datetime | None,
        typer.Option("--to", help="Last day, included (default: today)", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD"),
    ] = None,
    after_hours: Annotated[
        bool, typer.Option("--after-hours", help="Also list hours empty rooms used energy outside office hours")
    ] = False,
    database_url: Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL")] = None,
) -> None:
    """kWh per room, floor or site over the site's local days, from the hub's hourly rollups."""
    from hub.cli import fail, settings_with
    from hub.runtime import Database
    from hub.services.bookings import site_zone
    from hub.services.energy import after_hours_use, energy_report

    settings = settings_with(database_url=database_url)
    try:
        database = Database.open(settings.database_url)
    except AtriumError as error:
        raise fail(error) from None
    flagged: list[AfterHoursUse] = []
    try:
        with database.sessions() as session:
            zone = site_zone(session)
            last = last_day.date() if last_day else datetime.now(UTC).astimezone(zone).date()
            first = first_day.date() if first_day else last
            result = energy_report(session, group=by, period=Period.DAY, first_day=first, last_day=last)
            hours = OfficeHours.parse(settings.energy_office_hours)
            if after_hours:
                flagged = after_hours_use(
                    session,
                    first_day=first,
                    last_day=last,
                    office_hours=hours,
                    min_kwh=settings.energy_after_hours_min_kwh,
                )
    except AtriumError as error:
        raise fail(error) from None
    finally:
        database.close()
    console = Console()
    console.print(energy_table(result, per_day=day))
    if after_hours:
        console.print(after_hours_table(flagged, zone_name=result.timezone, office_hours=hours))


def energy_table(report: EnergyReport, *, per_day: bool) -> Table:
    """One row per room, floor or site; a column per day when asked, and the total."""
    span = f"{report.first_day:%d %b %Y}" + (
        f" to {report.last_day:%d %b %Y}" if report.last_day != report.first_day else ""
    )
    table = Table(title=f"Energy per {report.group.value}, kWh, {span} ({report.timezone})")
    table.add_column(report.group.value.capitalize())
    days = [bucket.start for bucket in report.series[0].buckets] if per_day and report.series else []
    for start in days:
        table.add_column(f"{start:%a %d %b}", justify="right")
    table.add_column("Total", justify="right", style="bold")
    for series in report.series:
        table.add_row(series.name, *(f"{b.kwh:.2f}" for b in series.buckets[: len(days)]), f"{series.total_kwh:.2f}")
    if report.group is not Group.SITE:
        totals = [sum(s.buckets[n].kwh for s in report.series) for n in range(len(days))]
        table.add_row("All", *(f"{t:.2f}" for t in totals), f"{report.total_kwh:.2f}", style="bold", end_section=True)
    return table


def after_hours_table(flagged: list[AfterHoursUse], *, zone_name: str, office_hours: OfficeHours) -> Table:
    """Hours outside office hours in which an empty room used energy."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(zone_name)
    table = Table(title=f"Energy in empty rooms outside {office_hours} on weekdays ({zone_name})")
    for name, justify in (("Room", "left"), ("Hour", "left"), ("kWh", "right"), ("Known empty from", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for use in flagged:
        start = use.hour_start.astimezone(zone)
        table.add_row(use.room_name, f"{start:%a %d %b %H:%M}", f"{use.kwh:.2f}", use.evidence.value)
    if not flagged:
        table.add_row("none", "", "", "")
    return table
