"""Energy rollups and the facilities dashboard (issue 5)."""

from fastapi import APIRouter

router = APIRouter(tags=["energy"])
