"""Everyone on site now, for staff; from the kiosk's kept copy when the hub cannot be reached."""

from datetime import UTC, datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Label, Static

from kiosk.hub_client import HubDenied, HubError, RollCall
from kiosk.screens.base import KioskScreen, back_button
from kiosk.widgets.banner import Banner


def local_time(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%H:%M") if moment else ""


def age(moment: datetime, now: datetime) -> str:
    """How long ago, as a person says it."""
    minutes = int((now - moment).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago" if minutes < 48 * 60 else f"{minutes // (24 * 60)} days ago"


class RollCallScreen(KioskScreen[None]):
    """Visitors checked in and occupied rooms, newest from the hub, else the last list kept."""

    def __init__(self) -> None:
        super().__init__(id="rollcall")

    def compose(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Static("Roll call", classes="title")
            yield Banner(id="banner")
            yield Static("Asking the hub…", id="summary", markup=False)
            yield Label("Visitors on site", classes="field-label")
            yield DataTable(id="visitors", cursor_type="row", zebra_stripes=True)
            yield Label("Occupied rooms", classes="field-label")
            yield DataTable(id="rooms", cursor_type="row", zebra_stripes=True)
            with Horizontal(classes="actions"):
                yield Button("Refresh", id="refresh", classes="big")
                yield back_button()

    def on_mount(self) -> None:
        self.query_one("#visitors", DataTable).add_columns("Name", "Company", "Host", "Since")
        self.query_one("#rooms", DataTable).add_columns("Room", "Floor", "People", "Seen")
        self.refresh_list()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "refresh":
            event.stop()
            self.refresh_list()

    @work(exclusive=True, group="rollcall", exit_on_error=False)
    async def refresh_list(self) -> None:
        """Fetch the list (keeping it on disk), or show the kept one under a banner."""
        try:
            rollcall = await self.kiosk.fetch_rollcall()
        except HubError as error:
            kept = self.kiosk.rollcall_cache.load()
            denied = isinstance(error, HubDenied)  # its sentence already sends staff to reception
            if kept is None:
                why = str(error) if denied else f"Hub unreachable: {error}"
                self.query_one(Banner).show(f"{why} No list has been kept on this kiosk yet.")
                self.query_one("#summary", Static).update("")
                return
            why = f"{error} Showing" if denied else "Hub unreachable: showing"
            self.query_one(Banner).show(
                f"{why} the list kept at {local_time(kept.saved_at)} "
                f"({age(kept.saved_at, datetime.now(UTC))}). People may have come or gone since."
            )
            self._show(kept.rollcall)
            return
        self.query_one(Banner).show("")
        self._show(rollcall)

    def _show(self, rollcall: RollCall) -> None:
        occupied = [room for room in rollcall.rooms if room.people]
        self.query_one("#summary", Static).update(
            f"{rollcall.site}: {len(rollcall.visitors)} visitors, {sum(r.people or 0 for r in occupied)} people "
            f"in {len(occupied)} rooms, as of {local_time(rollcall.generated_at)}"
        )
        visitors = self.query_one("#visitors", DataTable)
        visitors.clear()
        for visitor in rollcall.visitors:
            cells = (
                visitor.visitor_name,
                visitor.company or "",
                visitor.host_name or "",
                local_time(visitor.checked_in_at),
            )
            visitors.add_row(*(Text(cell) for cell in cells))
        rooms = self.query_one("#rooms", DataTable)
        rooms.clear()
        for room in occupied:
            cells = (room.room_name, room.floor or "", str(room.people), local_time(room.observed_at))
            rooms.add_row(*(Text(cell) for cell in cells))
