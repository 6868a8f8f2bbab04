"""Reusable parts of the kiosk's screens."""
