"""Response models of the energy reports (``*Public``), separate from the services' dataclasses."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from hub.services.energy import AfterHoursUse, EnergyReport, Series


class BucketPublic(BaseModel):
    start: datetime
    """In the site's zone: the hour, or the local midnight the day starts at."""
    kwh: float


class SeriesPublic(BaseModel):
    id: str | None
    """The room's or floor's id, or the site's; null for meters in no room."""
    name: str
    total_kwh: float
    buckets: list[BucketPublic]

    @classmethod
    def of(cls, series: Series) -> "SeriesPublic":
        return cls(
            id=series.id,
            name=series.name,
            total_kwh=round(series.total_kwh, 6),
            buckets=[BucketPublic(start=b.start, kwh=b.kwh) for b in series.buckets],
        )


class EnergyReportPublic(BaseModel):
    """kWh per room, floor or site and per hour or local day, from ``first_day`` to ``last_day`` included."""

    by: str
    period: str
    timezone: str
    first_day: date
    last_day: date
    total_kwh: float
    series: list[SeriesPublic]

    @classmethod
    def of(cls, report: EnergyReport) -> "EnergyReportPublic":
        return cls(
            by=report.group.value,
            period=report.period.value,
            timezone=report.timezone,
            first_day=report.first_day,
            last_day=report.last_day,
            total_kwh=round(report.total_kwh, 6),
            series=[SeriesPublic.of(series) for series in report.series],
        )


class AfterHoursHourPublic(BaseModel):
    room_id: str
    room_name: str
    floor_id: str | None
    hour_start: datetime
    """In the site's zone."""
    kwh: float
    evidence: str
    """How the hub knows the room was empty: ``sensor`` readings, or its ``room_live`` state."""


class AfterHoursPublic(BaseModel):
    """Hours outside office hours in which an empty room used energy."""

    first_day: date
    last_day: date
    timezone: str
    office_hours: str
    min_kwh: float
    total_kwh: float
    hours: list[AfterHoursHourPublic]

    @classmethod
    def of(
        cls,
        flagged: list[AfterHoursUse],
        *,
        first_day: date,
        last_day: date,
        timezone: str,
        office_hours: str,
        min_kwh: float,
    ) -> "AfterHoursPublic":
        return cls(
            first_day=first_day,
            last_day=last_day,
            timezone=timezone,
            office_hours=office_hours,
            min_kwh=min_kwh,
            total_kwh=round(sum(f.kwh for f in flagged), 6),
            hours=[
                AfterHoursHourPublic(
                    room_id=f.room_id,
                    room_name=f.room_name,
                    floor_id=f.floor_id,
                    hour_start=f.hour_start.astimezone(ZoneInfo(timezone)),
                    kwh=f.kwh,
                    evidence=f.evidence.value,
                )
                for f in flagged
            ],
        )
