"""A room's state at a moment, as door displays show it: pure decisions, no database."""

from datetime import UTC, datetime, timedelta

from devices.payloads import DisplayButton, RoomState
from hub.services.room_status import Meeting, RoomFacts, display_command, room_status

ATLAS = RoomFacts(name="Atlas", timezone="Europe/London")
NINE = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 09:00 in London (BST)


def meeting(start: datetime, minutes: int = 60, *, checked_in: bool = False, private: bool = False) -> Meeting:
    end = start + timedelta(minutes=minutes)
    return Meeting("Design review", "Ada", start, end, private=private, checked_in=checked_in)


def test_a_free_room_is_free_until_its_next_meeting_today_and_offers_book_now() -> None:
    later = meeting(NINE + timedelta(hours=2))
    status = room_status(ATLAS, [later], NINE)
    assert status.state is RoomState.FREE
    assert status.free_until == later.start
    assert status.upcoming == (later,)
    assert DisplayButton.BOOK_NOW in status.buttons
    assert DisplayButton.CHECK_IN not in status.buttons
    assert status.changes_at == later.start - timedelta(minutes=10)


def test_a_meeting_tomorrow_leaves_the_room_free_all_day() -> None:
    tomorrow = meeting(NINE + timedelta(days=1))
    assert room_status(ATLAS, [tomorrow], NINE).free_until is None


def test_a_started_meeting_nobody_checked_in_is_booked_and_offers_check_in() -> None:
    now_meeting = meeting(NINE - timedelta(minutes=5))
    status = room_status(ATLAS, [now_meeting], NINE)
    assert status.state is RoomState.BOOKED
    assert status.current == now_meeting
    assert DisplayButton.CHECK_IN in status.buttons
    assert status.changes_at == now_meeting.end


def test_check_in_opens_ten_minutes_before_the_start() -> None:
    soon = meeting(NINE + timedelta(minutes=8))
    assert DisplayButton.CHECK_IN in room_status(ATLAS, [soon], NINE).buttons
    not_yet = meeting(NINE + timedelta(minutes=12))
    assert DisplayButton.CHECK_IN not in room_status(ATLAS, [not_yet], NINE).buttons


def test_a_checked_in_meeting_is_in_use_and_can_be_extended_or_ended() -> None:
    status = room_status(ATLAS, [meeting(NINE - timedelta(minutes=5), checked_in=True)], NINE)
    assert status.state is RoomState.IN_USE
    assert status.buttons == (DisplayButton.EXTEND, DisplayButton.END_MEETING, DisplayButton.REPORT_PROBLEM)


def test_out_of_order_wins_and_cleaning_shows_only_when_no_meeting_runs() -> None:
    running = meeting(NINE - timedelta(minutes=5), checked_in=True)
    broken = RoomFacts(name="Atlas", timezone="Europe/London", out_of_order=True, needs_cleaning=True)
    assert room_status(broken, [running], NINE).state is RoomState.OUT_OF_ORDER
    assert room_status(broken, [running], NINE).buttons == (DisplayButton.REPORT_PROBLEM,)
    dirty = RoomFacts(name="Atlas", timezone="Europe/London", needs_cleaning=True)
    assert room_status(dirty, [running], NINE).state is RoomState.IN_USE
    assert room_status(dirty, [], NINE).state is RoomState.CLEANING_NEEDED


def test_the_display_command_hides_a_private_title() -> None:
    secret = meeting(NINE - timedelta(minutes=5), private=True)
    command = display_command(ATLAS, room_status(ATLAS, [secret], NINE), command_id="x", now=NINE)
    assert command.current is not None
    assert command.current.title == "Private meeting"
    assert command.current.organiser == "Ada"
    assert command.timezone == "Europe/London"
