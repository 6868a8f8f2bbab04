"""Find the person being visited by typing part of their name, then picking from the matches."""

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from kiosk.hub_client import HubClient, HubDenied, HubError, Person

SEARCH_DELAY_S = 0.25
"""Wait this long after the last keystroke before asking the hub, so typing a name is one search, not ten."""
MIN_QUERY = 2


class HostPicker(Vertical):
    """Search box, list of matching people, and the chosen host (``host``) with an error line."""

    def __init__(self, client: HubClient, *, host: Person | None = None, error: str = "") -> None:
        super().__init__(id="field-host_id", classes="field")
        self.client = client
        self.host = host
        self._error = error
        self._matches: list[Person] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Label("Who are you visiting?", classes="field-label")
        yield Input(placeholder="Type part of their name", id="host-search")
        yield OptionList(id="host-options")
        yield Label(self._chosen_text(), id="host-chosen", markup=False)
        yield Label(self._error, classes="field-error", id="error-host_id", markup=False)

    def on_mount(self) -> None:
        self.query_one(OptionList).display = False
        self.set_class(bool(self._error), "-invalid")

    def show_error(self, message: str) -> None:
        self.query_one("#error-host_id", Label).update(message)
        self.set_class(bool(message), "-invalid")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "host-search":
            return
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        query = event.value.strip()
        if len(query) < MIN_QUERY:
            self._show_matches([])
            return
        self._timer = self.set_timer(SEARCH_DELAY_S, lambda: self._search(query))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the search box picks the only match, or moves to the list to choose."""
        if event.input.id != "host-search":
            return
        event.stop()
        if len(self._matches) == 1:
            self._choose(self._matches[0])
        elif self._matches:
            self.query_one(OptionList).focus()

    @work(exclusive=True, group="people", exit_on_error=False)
    async def _search(self, query: str) -> None:
        try:
            people = await self.client.people(query, limit=8)
        except HubDenied as denied:
            self.show_error(str(denied))
            return
        except HubError as error:
            self.show_error(f"Cannot search for hosts: {error}")
            return
        self.show_error("" if people else f"Nobody found for “{query}”. Try another spelling or ask reception.")
        self._show_matches(people)

    def _show_matches(self, people: list[Person]) -> None:
        self._matches = people
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(Option(_describe(person), id=person.id) for person in people)
        options.display = bool(people)
        if people:
            options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = next((p for p in self._matches if p.id == event.option.id), None)
        if chosen is not None:
            self._choose(chosen)

    def _choose(self, person: Person) -> None:
        self.host = person
        self.query_one("#host-chosen", Label).update(self._chosen_text())
        self.query_one(OptionList).display = False
        self.show_error("")

    def _chosen_text(self) -> str:
        return f"Visiting: {_describe(self.host)}" if self.host else "Nobody chosen yet"


def _describe(person: Person) -> str:
    return f"{person.name} ({person.team})" if person.team else person.name
