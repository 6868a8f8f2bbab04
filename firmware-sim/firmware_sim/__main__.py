"""``python -m firmware_sim``: the simulator's command line without the rest of Atrium."""

from firmware_sim.cli import app

app(prog_name="firmware-sim")
