"""Wires safety incidents, cleaning status and preventive maintenance into a hub's reactions and jobs."""

from functools import partial

from devices.payloads import BadgePrinterTelemetry, EnergyTelemetry, OccupancyTelemetry, SafetyTelemetry
from devices.site import Building
from hub.scheduler import JobFunction
from hub.services import cleaning, preventive, safety
from hub.services.reactions import Reactions
from hub.settings import Settings

CLEANING_EVERY_S = 30.0
"""How often rooms' cleaning needs are recomputed (meetings end and readings accumulate in between)."""
PREVENTIVE_EVERY_S = 60.0
"""How often calendar schedules are checked and the schedules file is synced."""


def install(
    reactions: Reactions, jobs: list[tuple[str, float, JobFunction]], settings: Settings, building: Building
) -> None:
    """Register the reactions and jobs; a bad schedules file is a ConfigError here, at start."""
    safety_rules = safety.SafetyRules.from_settings(settings)
    reactions.on_batch(SafetyTelemetry, "safety alarms", partial(safety.react_to_safety_readings, rules=safety_rules))

    cleaning_rules = cleaning.CleaningRules.from_settings(settings)
    reactions.on_batch(OccupancyTelemetry, "count occupied time for cleaning", cleaning.count_occupied_time)
    jobs.append(
        (
            "flag rooms that need cleaning",
            CLEANING_EVERY_S,
            partial(cleaning.flag_rooms_needing_cleaning, rules=cleaning_rules),
        )
    )

    leads = preventive.Leads.from_settings(settings)
    specs = preventive.load_schedule_file(settings.preventive_file, building) if settings.preventive_file else []
    reactions.on_batch(BadgePrinterTelemetry, "preventive print meter", partial(preventive.count_prints, leads=leads))
    reactions.on_batch(
        EnergyTelemetry, "preventive running hours", partial(preventive.count_running_hours, leads=leads)
    )
    jobs.append(("preventive maintenance", PREVENTIVE_EVERY_S, preventive.PreventiveJob(specs, leads)))
