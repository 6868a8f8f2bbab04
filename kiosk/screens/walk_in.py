"""The walk-in form: who the visitor is, whom they visit and why; the hub's objections shown beside each field."""

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from kiosk.hub_client import Person, WalkIn
from kiosk.screens.base import KioskScreen, back_button
from kiosk.widgets.field import Field
from kiosk.widgets.host_picker import HostPicker

DEFAULT_VISITOR_TYPES = ("guest", "contractor", "interview", "delivery")
REQUIRED = "Please fill this in."
FIELDS = frozenset({"visitor_name", "company", "visitor_email", "host_id", "purpose", "visitor_type"})
"""The form's fields, by the names the hub's 422 answers use."""


@dataclass(frozen=True, slots=True)
class WalkInDetails:
    """What the form collected, and the host as a person (the API only wants the id)."""

    form: WalkIn
    host: Person


class WalkInScreen(KioskScreen[WalkInDetails]):
    """Dismisses with the filled-in details, or None on Back. ``errors`` maps field names ("" for the form)
    to messages from an earlier attempt, shown beside their fields."""

    def __init__(
        self,
        *,
        visitor_types: tuple[str, ...] = DEFAULT_VISITOR_TYPES,
        details: WalkInDetails | None = None,
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(id="walk-in")
        self.visitor_types = visitor_types
        self.details = details
        self.errors = dict(errors or {})

    def compose(self) -> ComposeResult:
        form = self.details.form if self.details else None
        errors = self.errors
        general = [message for name, message in errors.items() if name not in FIELDS]
        with VerticalScroll(classes="body"):
            yield Static("Check in without an invitation", classes="title")
            yield Label("\n".join(general), id="form-error", classes="field-error", markup=False)
            yield Field(
                "Your full name",
                "visitor_name",
                value=form.visitor_name if form else "",
                error=errors.get("visitor_name", ""),
            )
            yield Field(
                "Company (optional)",
                "company",
                value=(form.company or "") if form else "",
                error=errors.get("company", ""),
            )
            yield Field(
                "Email (optional)",
                "visitor_email",
                value=(form.visitor_email or "") if form else "",
                error=errors.get("visitor_email", ""),
            )
            yield HostPicker(
                self.kiosk.client, host=self.details.host if self.details else None, error=errors.get("host_id", "")
            )
            yield Field(
                "Purpose of your visit", "purpose", value=form.purpose if form else "", error=errors.get("purpose", "")
            )
            with Horizontal(id="field-visitor_type", classes="field"):
                yield Label("I am a", classes="field-label")
                yield Select(
                    [(kind.capitalize(), kind) for kind in self.visitor_types],
                    value=form.visitor_type
                    if form and form.visitor_type in self.visitor_types
                    else self.visitor_types[0],
                    allow_blank=False,
                    id="visitor_type",
                )
                yield Label(
                    errors.get("visitor_type", ""), classes="field-error", id="error-visitor_type", markup=False
                )
            with Horizontal(classes="actions"):
                yield Button("Continue", id="continue", classes="big primary", variant="primary")
                yield back_button("Cancel")

    def on_mount(self) -> None:
        self.query_one("#visitor_name").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves on to the next field, as on a paper form."""
        event.stop()
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "continue":
            event.stop()
            self._submit()

    def _submit(self) -> None:
        fields = {field.field_name: field for field in self.query(Field)}
        picker = self.query_one(HostPicker)
        missing = False
        for name in ("visitor_name", "purpose"):
            empty = not fields[name].value
            fields[name].show_error(REQUIRED if empty else "")
            missing |= empty
        picker.show_error("" if picker.host else "Please search for and choose the person you are visiting.")
        missing |= picker.host is None
        if missing or picker.host is None:
            return
        visitor_type = self.query_one("#visitor_type", Select).value
        form = WalkIn(
            visitor_name=fields["visitor_name"].value,
            company=fields["company"].value or None,
            visitor_email=fields["visitor_email"].value or None,
            host_id=picker.host.id,
            purpose=fields["purpose"].value,
            visitor_type=str(visitor_type),
        )
        self.dismiss(WalkInDetails(form, picker.host))
