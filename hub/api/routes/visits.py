"""Visitors: invitations, check-in and check-out, agreements, block list, roll call (issue 4)."""

from fastapi import APIRouter

router = APIRouter(tags=["visitors"])
