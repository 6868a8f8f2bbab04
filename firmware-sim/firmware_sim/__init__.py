"""Simulated device firmware over real MQTT: one device or a fleet of thousands, with faults."""

from firmware_sim.device import Device, DeviceStats
from firmware_sim.faults import Fault, FaultNotApplicable
from firmware_sim.fleet import Fleet, FleetStats, FleetThread, run_in_thread

__all__ = [
    "Device",
    "DeviceStats",
    "Fault",
    "FaultNotApplicable",
    "Fleet",
    "FleetStats",
    "FleetThread",
    "run_in_thread",
]
