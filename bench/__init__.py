"""Atrium's measurements: one module per figure, run together by ``make bench`` (bench/suite.py)."""
