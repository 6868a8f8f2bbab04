"""Domain logic of the hub: plain functions and classes, no network and no web framework."""
