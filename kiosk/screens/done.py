"""Checked in: the welcome, and where to collect the badge as the hub follows the print job."""

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Button, Static

from kiosk.hub_client import BadgeStatus, CheckIn, HubError
from kiosk.screens.base import KioskScreen

PREPARING = "Your badge is being prepared…"


def badge_text(badge: BadgeStatus | None) -> str:
    """Where the badge is, in the visitor's words (the hub's message names the printer and its place)."""
    if badge is None:
        return PREPARING
    return badge.message


class DoneScreen(KioskScreen[None]):
    """Shows the check-in's result; polls the badge until it is printed or has failed for good.

    A held visit (block list) gets the hub's message that reception is coming, and no badge."""

    def __init__(self, checkin: CheckIn, *, poll_s: float = 1.0) -> None:
        super().__init__(id="done")
        self.checkin = checkin
        self.poll_s = poll_s
        self.badge: BadgeStatus | None = checkin.visit.badge
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        visit = self.checkin.visit
        admitted = self.checkin.admitted
        with Vertical(classes="body"):
            yield Static(
                f"Welcome, {visit.visitor_name}!" if admitted else f"Thank you, {visit.visitor_name}.",
                classes="title",
                markup=False,
            )
            yield Static(self.checkin.message, id="message", markup=False)
            if admitted:
                yield Static(badge_text(self.badge), id="badge", markup=False)
            with Horizontal(classes="actions"):
                yield Button("Finish", id="finish", classes="big primary", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#finish", Button).focus()
        if self.checkin.admitted and not self._settled():
            self._timer = self.set_interval(self.poll_s, self._poll)

    def _settled(self) -> bool:
        return self.badge is not None and self.badge.status in ("printed", "failed")

    async def _poll(self) -> None:
        try:
            badge = await self.kiosk.client.badge(self.checkin.visit.id)
        except HubError as error:
            self.query_one("#badge", Static).update(f"{badge_text(self.badge)}\n({error})")
            return
        self.badge = badge
        self.query_one("#badge", Static).update(badge_text(badge))
        if self._settled() and self._timer is not None:
            self._timer.stop()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "finish":
            self.dismiss(None)
