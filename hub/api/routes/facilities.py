"""Preventive maintenance, safety incidents, cleaning status and the no-login fault report form (issue 5)."""

from fastapi import APIRouter

router = APIRouter(tags=["facilities"])
