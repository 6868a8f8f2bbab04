"""A labelled form input with its error message right beside it."""

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label


class Field(Vertical):
    """Label, input and a message line; ``error`` shows or clears the message."""

    def __init__(self, label: str, name: str, *, value: str = "", placeholder: str = "", error: str = "") -> None:
        super().__init__(id=f"field-{name}", classes="field")
        self.label = label
        self.field_name = name
        self._value = value
        self._placeholder = placeholder
        self._error = error

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield Input(value=self._value, placeholder=self._placeholder, id=self.field_name)
        yield Label(self._error, classes="field-error", id=f"error-{self.field_name}", markup=False)

    def on_mount(self) -> None:
        self.set_class(bool(self._error), "-invalid")

    @property
    def value(self) -> str:
        return self.query_one(Input).value.strip()

    def show_error(self, message: str) -> None:
        """Put ``message`` beside the field ("" clears it)."""
        self.query_one(f"#error-{self.field_name}", Label).update(message)
        self.set_class(bool(message), "-invalid")
