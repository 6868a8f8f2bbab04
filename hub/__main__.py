"""``python -m hub`` is the ``atrium`` command."""

from hub.cli import app

app()
