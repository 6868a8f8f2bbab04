"""The reception kiosk: composes the screens into check-in, walk-in, check-out and roll call, and resets when idle."""

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal

from textual import events
from textual.app import App
from textual.worker import Worker, WorkerState

from kiosk.hub_client import (
    Agreement,
    CheckIn,
    HubClient,
    HubDenied,
    HubError,
    HubRefused,
    HubUnavailable,
    RollCall,
    Signature,
    WalkIn,
)
from kiosk.rollcall_cache import RollCallCache
from kiosk.screens.agreement import AgreementScreen
from kiosk.screens.attract import AttractScreen, Choice
from kiosk.screens.check_out import CheckOutScreen
from kiosk.screens.done import DoneScreen
from kiosk.screens.message import MessageScreen
from kiosk.screens.photo import PhotoScreen
from kiosk.screens.rollcall import RollCallScreen
from kiosk.screens.scan import WALK_IN, ScanScreen
from kiosk.screens.walk_in import DEFAULT_VISITOR_TYPES, WalkInDetails, WalkInScreen
from kiosk.screens.wording import explanation

log = logging.getLogger(__name__)

DEFAULT_INACTIVITY_S = 60.0
DEFAULT_ROLLCALL_REFRESH_S = 60.0
Submit = Callable[[Signature | None, str | None], Awaitable[CheckIn]]
Finished = Literal["back", "done"] | HubError


def default_cache_path(kiosk_id: str) -> Path:
    """Where a kiosk keeps its last roll call unless told otherwise (beside the hub's default database)."""
    return Path("var") / "kiosk" / f"{kiosk_id}-rollcall.json"


class KioskApp(App[None]):
    """The kiosk. Flows run as workers that push one screen after another and read what each dismisses."""

    CSS_PATH = Path(__file__).with_name("kiosk.tcss")
    TITLE = "Atrium reception"

    def __init__(
        self,
        *,
        hub_url: str,
        camera: str | None,
        kiosk_id: str = "reception-1",
        inactivity_timeout_s: float = DEFAULT_INACTIVITY_S,
        rollcall_cache: RollCallCache | Path | None = None,
        rollcall_refresh_s: float = DEFAULT_ROLLCALL_REFRESH_S,
        badge_poll_s: float = 1.0,
        ask_photo: bool = False,
        visitor_types: tuple[str, ...] = DEFAULT_VISITOR_TYPES,
        hub_timeout_s: float = 4.0,
        frame_interval_s: float = 0.05,
        site_name: str = "",
        api_key: str | None = None,
    ) -> None:
        super().__init__()
        self.client = HubClient(hub_url, timeout_s=hub_timeout_s, api_key=api_key)
        self.camera = camera
        self.kiosk_id = kiosk_id
        self.inactivity_timeout_s = inactivity_timeout_s
        if not isinstance(rollcall_cache, RollCallCache):
            rollcall_cache = RollCallCache(rollcall_cache or default_cache_path(kiosk_id))
        self.rollcall_cache = rollcall_cache
        self.rollcall_refresh_s = rollcall_refresh_s
        self.badge_poll_s = badge_poll_s
        self.ask_photo = ask_photo
        self.visitor_types = visitor_types
        self.frame_interval_s = frame_interval_s
        self.site_name = site_name
        self._last_activity = time.monotonic()

    def on_mount(self) -> None:
        self.push_screen(AttractScreen(self.site_name))
        self.set_interval(min(1.0, self.inactivity_timeout_s / 4), self._reset_when_idle)
        if self.rollcall_refresh_s > 0:
            self.set_interval(self.rollcall_refresh_s, self._keep_rollcall)
            self.call_later(self._keep_rollcall)

    async def on_unmount(self) -> None:
        await self.client.aclose()

    # --- activity and reset ---

    def touch(self) -> None:
        """Someone is using the kiosk: put off the reset."""
        self._last_activity = time.monotonic()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.touch()
        await super().on_event(event)

    def _reset_when_idle(self) -> None:
        idle = time.monotonic() - self._last_activity
        if idle >= self.inactivity_timeout_s and not isinstance(self.screen, AttractScreen):
            log.info("no activity for %.0f s: back to the start", idle)
            self.return_to_start()

    def return_to_start(self) -> None:
        """Abandon whatever flow is under way and show the attract screen."""
        self.workers.cancel_group(self, "flow")
        while len(self.screen_stack) > 1 and not isinstance(self.screen, AttractScreen):
            self.pop_screen()
        self.touch()

    # --- roll call ---

    async def fetch_rollcall(self) -> RollCall:
        """The roll call from the hub, kept on disk for when the hub is gone."""
        rollcall = await self.client.rollcall()
        self.rollcall_cache.save(rollcall, now=datetime.now(UTC))
        return rollcall

    async def _keep_rollcall(self) -> None:
        try:
            await self.fetch_rollcall()
        except HubError as error:
            log.info("roll call not refreshed: %s", error)

    # --- flows ---

    def on_attract_screen_chosen(self, message: AttractScreen.Chosen) -> None:
        self.touch()
        if message.choice is Choice.QR:
            self._run_flow(self._qr_flow)
        elif message.choice is Choice.WALK_IN:
            self._run_flow(self._walk_in_flow)
        elif message.choice is Choice.CHECK_OUT:
            self.push_screen(CheckOutScreen())
        elif message.choice is Choice.ROLL_CALL:
            self.push_screen(RollCallScreen())

    def _run_flow(self, flow: Callable[[], Awaitable[None]]) -> None:
        self.run_worker(flow, group="flow", exclusive=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A flow that fails must not leave a visitor stuck half-way: log it and start over."""
        if event.worker.group == "flow" and event.state is WorkerState.ERROR:
            log.error("kiosk flow failed", exc_info=event.worker.error)
            self.return_to_start()
            self.notify("Sorry, something went wrong. Please try again or ask reception.", severity="error")

    async def _qr_flow(self) -> None:
        while True:
            outcome = await self.push_screen_wait(ScanScreen())
            if outcome is None:
                return
            if outcome == WALK_IN:
                await self._walk_in_flow()
                return
            preview = outcome.preview
            submit = partial(self._check_in, outcome.token)
            finished = await self._sign_and_submit(preview.visitor_name, preview.agreement, submit)
            if finished == "back":
                continue
            if isinstance(finished, HubError):
                dead_end = isinstance(finished, HubUnavailable | HubDenied)
                choices = {} if dead_end else {"walk-in": "Check in without an invitation"}
                title = "We could not check you in"
                if await self.push_screen_wait(MessageScreen(title, explanation(finished), choices)) == "walk-in":
                    await self._walk_in_flow()
            return

    async def _walk_in_flow(self) -> None:
        details: WalkInDetails | None = None
        errors: dict[str, str] = {}
        while True:
            filled = await self.push_screen_wait(
                WalkInScreen(visitor_types=self.visitor_types, details=details, errors=errors)
            )
            if filled is None:
                return
            details, errors = filled, {}
            try:
                agreement = await self.client.agreement(details.form.visitor_type)
            except HubError as error:
                await self.push_screen_wait(MessageScreen("We could not check you in", explanation(error)))
                return
            submit = partial(self._walk_in, details.form)
            finished = await self._sign_and_submit(details.form.visitor_name, agreement, submit)
            if finished == "back":
                continue
            if isinstance(finished, HubRefused) and finished.status == 422:
                errors = finished.fields or {"": str(finished)}
                continue
            if isinstance(finished, HubError):
                await self.push_screen_wait(MessageScreen("We could not check you in", explanation(finished)))
            return

    async def _check_in(self, token: str, signature: Signature | None, photo: str | None) -> CheckIn:
        return await self.client.check_in(token, kiosk_id=self.kiosk_id, signature=signature, photo_jpeg_b64=photo)

    async def _walk_in(self, form: WalkIn, signature: Signature | None, photo: str | None) -> CheckIn:
        return await self.client.walk_in(form, kiosk_id=self.kiosk_id, signature=signature, photo_jpeg_b64=photo)

    async def _sign_and_submit(self, visitor_name: str, agreement: Agreement | None, submit: Submit) -> Finished:
        """Agreement (when one is needed), photo (when the kiosk asks), then the check-in and the done screen.
        Back on the first of these steps returns ``"back"``; a refusal returns the error for the caller to show."""
        steps = (["agreement"] if agreement is not None else []) + (["photo"] if self.ask_photo else [])
        signature: Signature | None = None
        photo: str | None = None
        index = 0
        while index < len(steps):
            if steps[index] == "agreement" and agreement is not None:
                signature = await self.push_screen_wait(AgreementScreen(agreement, visitor_name))
                went_on = signature is not None
            else:
                chosen = await self.push_screen_wait(PhotoScreen())
                went_on = chosen is not None
                photo = chosen.jpeg_b64 if chosen is not None else None
            if not went_on and index == 0:
                return "back"
            index += 1 if went_on else -1
        try:
            checkin = await submit(signature, photo)
        except HubError as error:
            return error
        await self.push_screen_wait(DoneScreen(checkin, poll_s=self.badge_poll_s))
        return "done"
