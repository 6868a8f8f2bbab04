"""Ingest figures and the dead-letter table, for operators."""

from typing import Annotated

from fastapi import APIRouter, Query

from devices.errors import RejectReason
from hub.api.access import allow
from hub.api.deps import SessionDep, StateDep
from hub.api.schemas import DeadLetter, IngestStats
from hub.services.principals import Role
from hub.store import registry

router = APIRouter(prefix="/ingest", tags=["ingest"], dependencies=[allow(Role.FACILITIES)])


@router.get("/stats", response_model=IngestStats, summary="Messages received, stored, duplicated and rejected")
def ingest_stats(state: StateDep, session: SessionDep) -> IngestStats:
    hub = state.hub
    return IngestStats.model_validate(
        {
            **registry.ingest_totals(session),
            "dead_letters_kept": registry.count_dead_letters(session),
            "queue_depth": hub.pipeline.inbox.qsize() if hub and hub.pipeline else None,
            "broker_connected": hub.connection.connected if hub and hub.connection else None,
        }
    )


@router.get("/rejects", response_model=list[DeadLetter], summary="The most recent refused messages")
def rejects(
    session: SessionDep,
    reason: Annotated[RejectReason | None, Query(description="Only this reason")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[DeadLetter]:
    letters = registry.recent_dead_letters(session, reason=reason.value if reason else None, limit=limit)
    return [
        DeadLetter(
            id=letter.id,
            received_at=letter.received_at,
            topic=letter.topic,
            reason=letter.reason,
            detail=letter.detail,
            payload_size=letter.payload_size,
            payload_preview=letter.payload[:200].decode("utf-8", errors="replace"),
        )
        for letter in letters
    ]
