"""The kiosk driven by Textual's Pilot with no hub at all: what a visitor sees when things are missing."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input
from typer.testing import CliRunner

from hub.cli import app as cli_app
from kiosk.app import KioskApp
from kiosk.hub_client import RollCall, RollCallRoom, RollCallVisitor
from kiosk.rollcall_cache import RollCallCache
from kiosk.screens.attract import AttractScreen
from kiosk.widgets.banner import Banner
from tests.kiosk.conftest import dead_hub_url, on_screen, qr_camera, screen_text, type_text, until

SIZE = (110, 48)


def kiosk(tmp_path: Path, *, camera: str | None = None, **options: object) -> KioskApp:
    return KioskApp(
        hub_url=dead_hub_url(),
        camera=camera,
        rollcall_cache=tmp_path / "rollcall.json",
        rollcall_refresh_s=0,
        hub_timeout_s=2,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.anyio
async def test_the_attract_screen_offers_the_four_ways_in(tmp_path: Path) -> None:
    async with kiosk(tmp_path).run_test(size=SIZE) as pilot:
        assert isinstance(pilot.app.screen, AttractScreen)
        labels = [str(button.label) for button in pilot.app.screen.query(Button)]
        assert labels == ["I have a QR code", "I don't have an invitation", "Check out", "Roll call (staff)"]
        assert "Welcome" in screen_text(pilot)


@pytest.mark.anyio
async def test_no_camera_is_said_in_plain_words_and_the_walk_in_is_offered(tmp_path: Path) -> None:
    async with kiosk(tmp_path, camera=str(tmp_path / "no-such-camera")).run_test(size=SIZE) as pilot:
        await pilot.click("#qr")
        await until(pilot, lambda: pilot.app.screen.query("#walk-in"), "the walk-in offer")
        assert "The camera is not working" in screen_text(pilot)
        assert "No such file or folder" in screen_text(pilot)
        await pilot.click("#walk-in")
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form")


@pytest.mark.anyio
async def test_a_kiosk_without_a_camera_says_so_at_check_out_too(tmp_path: Path) -> None:
    async with kiosk(tmp_path, camera=None).run_test(size=SIZE) as pilot:
        await pilot.click("#check-out")
        await until(pilot, lambda: "hand it to reception" in screen_text(pilot), "the no-camera message")
        await pilot.press("escape")
        await until(pilot, on_screen(pilot, "attract"), "back at the start")


@pytest.mark.anyio
async def test_a_code_read_while_the_hub_is_down_says_to_ask_reception(tmp_path: Path) -> None:
    camera = qr_camera(tmp_path / "camera", "ATR1.not-really-a-token")
    async with kiosk(tmp_path, camera=camera).run_test(size=SIZE) as pilot:
        await pilot.press("enter")  # the QR button has the focus
        await until(pilot, lambda: "cannot reach the office system" in screen_text(pilot), "the hub-down message")
        assert pilot.app.screen.query("#walk-in")


@pytest.mark.anyio
async def test_the_walk_in_form_puts_missing_answers_beside_their_fields(tmp_path: Path) -> None:
    async with kiosk(tmp_path).run_test(size=SIZE) as pilot:
        await pilot.click("#walk-in")
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form")
        await type_text(pilot, "Ada Lovelace")
        await pilot.click("#continue")
        screen = pilot.app.screen
        assert str(screen.query_one("#error-visitor_name").content) == ""  # type: ignore[attr-defined]
        assert str(screen.query_one("#error-purpose").content) == "Please fill this in."  # type: ignore[attr-defined]
        assert "choose the person you are visiting" in str(screen.query_one("#error-host_id").content)  # type: ignore[attr-defined]
        assert screen.id == "walk-in"


@pytest.mark.anyio
async def test_host_search_with_the_hub_down_says_so_beside_the_field(tmp_path: Path) -> None:
    async with kiosk(tmp_path).run_test(size=SIZE) as pilot:
        await pilot.click("#walk-in")
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form")
        pilot.app.screen.query_one("#host-search", Input).focus()
        await type_text(pilot, "ann")
        error = pilot.app.screen.query_one("#error-host_id")
        await until(pilot, lambda: "cannot reach the hub" in str(error.content), "the search error")  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_escape_goes_back_from_every_screen(tmp_path: Path) -> None:
    async with kiosk(tmp_path).run_test(size=SIZE) as pilot:
        for button, screen_id in (
            ("#qr", "scan"),
            ("#walk-in", "walk-in"),
            ("#check-out", "check-out"),
            ("#roll-call", "rollcall"),
        ):
            await pilot.click(button)
            await until(pilot, on_screen(pilot, screen_id), screen_id)
            await pilot.press("escape")
            await until(pilot, on_screen(pilot, "attract"), f"back from {screen_id}")


@pytest.mark.anyio
async def test_an_idle_kiosk_returns_to_the_start(tmp_path: Path) -> None:
    async with kiosk(tmp_path, inactivity_timeout_s=1.0).run_test(size=SIZE) as pilot:
        await pilot.click("#walk-in")
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form")
        await type_text(pilot, "Ada")
        await until(pilot, on_screen(pilot, "attract"), "the reset after inactivity", timeout=10)
        pilot.app.inactivity_timeout_s = 60  # type: ignore[attr-defined]
        await pilot.click("#walk-in")  # and the flows still work afterwards
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form again")
        assert pilot.app.screen.query_one("#visitor_name", Input).value == ""


def kept_rollcall(saved_at: datetime) -> RollCall:
    return RollCall(
        generated_at=saved_at,
        site="Atrium HQ",
        visitors=[
            RollCallVisitor(
                visit_id=7,
                visitor_name="Ada [bold]Lovelace",
                company="Analytical",
                host_name="Ann Smith",
                checked_in_at=saved_at - timedelta(hours=1),
            )
        ],
        rooms=[
            RollCallRoom(room_id="atlas", room_name="Atlas", floor="Ground floor", people=3, observed_at=saved_at),
            RollCallRoom(room_id="zen", room_name="Zen", floor="Ground floor", people=0, observed_at=saved_at),
        ],
    )


@pytest.mark.anyio
async def test_roll_call_with_the_hub_down_shows_the_kept_list_under_a_banner(tmp_path: Path) -> None:
    saved_at = datetime.now(UTC) - timedelta(minutes=12)
    RollCallCache(tmp_path / "rollcall.json").save(kept_rollcall(saved_at), now=saved_at)
    async with kiosk(tmp_path).run_test(size=SIZE) as pilot:
        await pilot.click("#roll-call")
        banner = pilot.app.screen.query_one(Banner)
        await until(pilot, lambda: banner.display, "the hub-unreachable banner")
        assert "Hub unreachable" in str(banner.content)
        assert "12 min ago" in str(banner.content)
        visitors = pilot.app.screen.query_one("#visitors", DataTable)
        assert visitors.row_count == 1
        assert str(visitors.get_row_at(0)[0]) == "Ada [bold]Lovelace"
        assert pilot.app.screen.query_one("#rooms", DataTable).row_count == 1  # only rooms with people


@pytest.mark.anyio
async def test_roll_call_with_the_hub_down_and_nothing_kept_says_so(tmp_path: Path) -> None:
    async with kiosk(tmp_path).run_test(size=SIZE) as pilot:
        await pilot.click("#roll-call")
        banner = pilot.app.screen.query_one(Banner)
        await until(pilot, lambda: banner.display, "the hub-unreachable banner")
        assert "No list has been kept" in str(banner.content)


@pytest.mark.anyio
async def test_a_damaged_kept_list_is_ignored_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "rollcall.json").write_text('{"saved_at": "yesterday", "rollcall": [')
    async with kiosk(tmp_path).run_test(size=SIZE) as pilot:
        await pilot.click("#roll-call")
        banner = pilot.app.screen.query_one(Banner)
        await until(pilot, lambda: banner.display, "the hub-unreachable banner")
        assert "No list has been kept" in str(banner.content)


def test_the_command_without_a_key_says_how_to_make_one(tmp_path: Path) -> None:
    missing = tmp_path / "kiosk.key"
    result = CliRunner().invoke(
        cli_app, ["kiosk", "--camera", "nowhere", "--key-file", str(missing)], env={"ATRIUM_KIOSK_KEY": None}
    )
    assert result.exit_code == 2
    said = " ".join(result.output.replace("│", " ").split())
    assert "ATRIUM_KIOSK_KEY" in said
    assert "atrium keys create kiosk" in said


def test_the_command_refuses_a_zero_inactivity_timeout() -> None:
    result = CliRunner().invoke(cli_app, ["kiosk", "--camera", "nowhere", "--inactivity", "0"])
    assert result.exit_code == 2
    assert "more than 0 seconds" in result.output
