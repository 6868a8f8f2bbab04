"""What a meeting room is doing now, as its door display and wall panel show it (pure logic).

Given the room's facts, its live meetings and ``now``, :func:`room_status` decides the state, the
current and upcoming meetings, how long the room stays free, which buttons make sense, and when the
answer will next change by itself (a meeting starts or ends), so the hub republishes at boundaries
instead of polling every room every second.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from devices.payloads import DisplayButton, MeetingSummary, RoomState, ShowRoomState

CHECK_IN_OPENS = timedelta(minutes=10)
"""How long before its start a meeting can be checked in."""
UPCOMING_SHOWN = 3
PRIVATE_TITLE = "Private meeting"


@dataclass(frozen=True, slots=True)
class Meeting:
    """A live booking of the room (booked or checked in; not cancelled, released or ended)."""

    title: str
    organiser: str
    start: datetime
    end: datetime
    private: bool = False
    checked_in: bool = False


@dataclass(frozen=True, slots=True)
class RoomFacts:
    """What is true of the room apart from its bookings."""

    name: str
    timezone: str
    out_of_order: bool = False
    needs_cleaning: bool = False


@dataclass(frozen=True, slots=True)
class RoomStatus:
    """The room as shown, and when that will change by itself."""

    state: RoomState
    current: Meeting | None
    upcoming: tuple[Meeting, ...]
    free_until: datetime | None
    buttons: tuple[DisplayButton, ...]
    changes_at: datetime | None


def room_status(facts: RoomFacts, meetings: Sequence[Meeting], now: datetime) -> RoomStatus:
    """Decide the room's state at ``now`` from its live meetings (any order)."""
    ordered = sorted(meetings, key=lambda m: m.start)
    current = next((m for m in ordered if m.start <= now < m.end), None)
    later = [m for m in ordered if m.start > now]
    soon = next((m for m in later if m.start - CHECK_IN_OPENS <= now and not m.checked_in), None)
    free_until = None
    if (
        current is None
        and later
        and later[0].start.astimezone(ZoneInfo(facts.timezone)).date() == _local_day(facts, now)
    ):
        free_until = later[0].start
    if facts.out_of_order:
        state = RoomState.OUT_OF_ORDER
    elif current is not None:
        state = RoomState.IN_USE if current.checked_in else RoomState.BOOKED
    elif facts.needs_cleaning:
        state = RoomState.CLEANING_NEEDED
    else:
        state = RoomState.FREE
    return RoomStatus(
        state=state,
        current=current,
        upcoming=tuple(later[:UPCOMING_SHOWN]),
        free_until=free_until,
        buttons=_buttons(state, current, soon),
        changes_at=_next_boundary(ordered, now),
    )


def _local_day(facts: RoomFacts, now: datetime) -> object:
    return now.astimezone(ZoneInfo(facts.timezone)).date()


def _buttons(state: RoomState, current: Meeting | None, soon: Meeting | None) -> tuple[DisplayButton, ...]:
    if state is RoomState.OUT_OF_ORDER:
        return (DisplayButton.REPORT_PROBLEM,)
    buttons: list[DisplayButton] = []
    if current is None:
        buttons.append(DisplayButton.BOOK_NOW)
    elif current.checked_in:
        buttons += [DisplayButton.EXTEND, DisplayButton.END_MEETING]
    if (current is not None and not current.checked_in) or soon is not None:
        buttons.append(DisplayButton.CHECK_IN)
    buttons.append(DisplayButton.REPORT_PROBLEM)
    return tuple(buttons)


def _next_boundary(meetings: Sequence[Meeting], now: datetime) -> datetime | None:
    """The next moment the state changes without anyone doing anything."""
    moments = [
        moment
        for meeting in meetings
        for moment in (meeting.start - CHECK_IN_OPENS, meeting.start, meeting.end)
        if moment > now
    ]
    return min(moments, default=None)


def display_command(facts: RoomFacts, status: RoomStatus, *, command_id: str, now: datetime) -> ShowRoomState:
    """The retained command that tells a door display (and the panel) what to show."""
    return ShowRoomState(
        id=command_id,
        ts=now,
        room_name=facts.name,
        state=status.state,
        current=_summary(status.current) if status.current else None,
        upcoming=[_summary(m) for m in status.upcoming],
        free_until=status.free_until,
        timezone=facts.timezone,
        buttons=list(status.buttons),
        needs_cleaning=facts.needs_cleaning,
    )


def _summary(meeting: Meeting) -> MeetingSummary:
    return MeetingSummary(
        title=PRIVATE_TITLE if meeting.private else meeting.title,
        organiser=meeting.organiser,
        start=meeting.start,
        end=meeting.end,
        checked_in=meeting.checked_in,
    )
