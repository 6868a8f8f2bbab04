"""Atrium's device contract: topics, payload models and codecs shared by the hub and the firmware."""
