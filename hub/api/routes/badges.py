"""Visitor badges: rendering and print jobs with printer failover (issue 4)."""

from fastapi import APIRouter

router = APIRouter(tags=["badges"])
