"""Maintenance tickets and the asset register (issue 5)."""

from fastapi import APIRouter

router = APIRouter(tags=["maintenance"])
