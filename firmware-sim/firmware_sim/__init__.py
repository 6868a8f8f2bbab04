"""Simulated device firmware over real MQTT: one device or a fleet of thousands, with faults."""
