"""A line across the top of a screen that says something is wrong, in words and colour."""

from textual.widgets import Static


class Banner(Static):
    """Hidden when empty; ``show(text)`` puts a warning up, ``show("")`` takes it down."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__("", id=id, classes="banner", markup=False)
        self.display = False

    def show(self, text: str) -> None:
        self.update(text)
        self.display = bool(text)
