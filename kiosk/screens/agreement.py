"""The site's agreement for this kind of visitor, accepted by typing one's name."""

import re

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from kiosk.hub_client import Agreement, Signature
from kiosk.screens.base import KioskScreen, back_button


def same_name(typed: str, expected: str) -> bool:
    """Whether a typed signature is the visitor's name, ignoring case and extra spaces."""

    def norm(name: str) -> str:
        return re.sub(r"\s+", " ", name).strip().casefold()

    return bool(norm(typed)) and norm(typed) == norm(expected)


class AgreementScreen(KioskScreen[Signature]):
    """Dismisses with the :class:`Signature` once the visitor typed their name, or None on Back."""

    def __init__(self, agreement: Agreement, visitor_name: str) -> None:
        super().__init__(id="agreement")
        self.agreement = agreement
        self.visitor_name = visitor_name

    def compose(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Static(self.agreement.title, classes="title", markup=False)
            with VerticalScroll(id="agreement-text"):
                yield Static(self.agreement.text, markup=False)
            yield Label(f"To accept, type your full name: {self.visitor_name}", classes="field-label", markup=False)
            yield Input(placeholder="Your full name", id="signed-name")
            yield Label("", id="error-signed-name", classes="field-error", markup=False)
            with Horizontal(classes="actions"):
                yield Button("I accept", id="accept", classes="big primary", variant="primary")
                yield back_button()

    def on_mount(self) -> None:
        self.query_one("#signed-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._accept()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "accept":
            event.stop()
            self._accept()

    def _accept(self) -> None:
        typed = self.query_one("#signed-name", Input).value
        if not same_name(typed, self.visitor_name):
            self.query_one("#error-signed-name", Label).update(
                f"Please type your name exactly as shown: {self.visitor_name}"
            )
            return
        self.dismiss(Signature(agreement_hash=self.agreement.hash, signed_name=" ".join(typed.split())))
