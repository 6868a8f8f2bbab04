"""Maintenance tickets and the asset register (issue 5): list, open, move along the flow, comment, assign.

Facilities staff work the tickets; integrations read them and open new ones. The acting person in a
ticket's history is the signed-in caller.
"""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.convertors import Convertor, register_url_convertor

from hub.api.access import allow
from hub.api.deps import MAX_OFFSET, NowDep, RowId, SessionDep, StateDep
from hub.api.routes.rooms import ERRORS
from hub.api.schemas_tickets import (
    AssetPublic,
    AssignRequest,
    CommentCreate,
    TicketCreate,
    TicketDetail,
    TicketEventPublic,
    TicketPublic,
    TransitionRequest,
)
from hub.services import assets, tickets
from hub.services.fault_rules import load_rules
from hub.services.principals import Principal, Role
from hub.services.tickets import DEFAULT_POLICY, TicketPolicy
from hub.store.ticket_models import TicketPriority, TicketSource, TicketStatus

router = APIRouter(tags=["maintenance"])


class AssetIdConvertor(Convertor[str]):
    """An asset id in a path: a device id, or ``room/equipment`` (one slash, so deeper paths stay free)."""

    regex = "[^/]+(?:/[^/]+)?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("asset_id", AssetIdConvertor())


@lru_cache(maxsize=8)
def _policy_from(path: Path | None) -> TicketPolicy:
    return load_rules(path).policy


def get_policy(state: StateDep) -> TicketPolicy:
    """The site's priorities and SLAs: the running hub's, or read from the configured rules file."""
    if state.hub is not None:
        return state.hub.fault_rules.policy
    if state.settings is not None:
        return _policy_from(state.settings.fault_rules_file)
    return DEFAULT_POLICY


PolicyDep = Annotated[TicketPolicy, Depends(get_policy)]
Facilities = Annotated[Principal, allow(Role.FACILITIES)]
READERS = allow(Role.FACILITIES, Role.INTEGRATION)


@router.get(
    "/tickets",
    response_model=list[TicketPublic],
    responses=ERRORS,
    summary="Tickets, newest first",
    dependencies=[READERS],
)
def list_tickets(
    session: SessionDep,
    status: Annotated[list[TicketStatus] | None, Query(description="Only these statuses")] = None,
    open_only: Annotated[bool, Query(alias="open", description="Only tickets not resolved or closed")] = False,
    priority: TicketPriority | None = None,
    asset: Annotated[str | None, Query(description="Only this asset's tickets")] = None,
    room: Annotated[str | None, Query(description="Only this room's tickets")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[TicketPublic]:
    found = tickets.list_tickets(
        session,
        status=[s.value for s in status] if status else None,
        open_only=open_only,
        priority=priority.value if priority else None,
        asset_id=asset,
        room_id=room,
        limit=limit,
        offset=offset,
    )
    return [TicketPublic.of(ticket) for ticket in found]


@router.post("/tickets", status_code=201, response_model=TicketPublic, responses=ERRORS, summary="Open a ticket")
def open_ticket(
    body: TicketCreate,
    caller: Annotated[Principal, allow(Role.FACILITIES, Role.INTEGRATION)],
    session: SessionDep,
    now: NowDep,
    policy: PolicyDep,
) -> TicketPublic:
    ticket = tickets.open_ticket(
        session,
        title=body.title,
        source=TicketSource.STAFF,
        now=now,
        asset_id=body.asset_id,
        room_id=body.room_id,
        fault_type=body.fault_type,
        priority=body.priority,
        reporter=body.reporter or caller.actor,
        description=body.description,
        policy=policy,
    )
    session.commit()
    return TicketPublic.of(ticket)


def _detail(session: SessionDep, ticket_id: RowId) -> TicketDetail:
    ticket = tickets.get_ticket(session, ticket_id)
    asset = assets.get_asset(session, ticket.asset_id) if ticket.asset_id else None
    return TicketDetail.with_history(ticket, asset, list(tickets.history(session, ticket_id)))


@router.get(
    "/tickets/{ticket_id}",
    response_model=TicketDetail,
    responses=ERRORS,
    summary="A ticket and its history",
    dependencies=[READERS],
)
def get_ticket(ticket_id: RowId, session: SessionDep) -> TicketDetail:
    return _detail(session, ticket_id)


@router.post(
    "/tickets/{ticket_id}/transition",
    response_model=TicketDetail,
    responses=ERRORS,
    summary="Move a ticket along open, acknowledged, in_progress, on_hold, resolved, closed",
)
def transition(
    ticket_id: RowId, body: TransitionRequest, caller: Facilities, session: SessionDep, now: NowDep, policy: PolicyDep
) -> TicketDetail:
    tickets.transition(session, ticket_id, body.to, actor=caller.actor, now=now, note=body.note, policy=policy)
    session.commit()
    return _detail(session, ticket_id)


@router.post(
    "/tickets/{ticket_id}/comments",
    status_code=201,
    response_model=TicketEventPublic,
    responses=ERRORS,
    summary="Comment on a ticket",
)
def comment(
    ticket_id: RowId, body: CommentCreate, caller: Facilities, session: SessionDep, now: NowDep
) -> TicketEventPublic:
    event = tickets.comment(session, ticket_id, body.text, actor=caller.actor, now=now)
    session.commit()
    return TicketEventPublic.model_validate(event)


@router.post("/tickets/{ticket_id}/assign", response_model=TicketPublic, responses=ERRORS, summary="Assign a ticket")
def assign(ticket_id: RowId, body: AssignRequest, caller: Facilities, session: SessionDep, now: NowDep) -> TicketPublic:
    ticket = tickets.assign(session, ticket_id, actor=caller.actor, now=now, assignee=body.assignee, team=body.team)
    session.commit()
    return TicketPublic.of(ticket)


@router.get(
    "/assets",
    response_model=list[AssetPublic],
    responses=ERRORS,
    summary="The asset register",
    dependencies=[READERS],
)
def list_assets(
    session: SessionDep,
    room: Annotated[str | None, Query(description="Only this room's assets")] = None,
    kind: Annotated[str | None, Query(description="A device kind, or equipment")] = None,
    status: Annotated[str | None, Query(description="in_service or retired")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[AssetPublic]:
    found = assets.list_assets(session, room_id=room, kind=kind, status=status, limit=limit, offset=offset)
    return [AssetPublic.of(asset) for asset in found]


@router.get(
    "/assets/{asset_id:asset_id}",
    response_model=AssetPublic,
    responses=ERRORS,
    summary="One asset",
    dependencies=[READERS],
)
def get_asset(asset_id: str, session: SessionDep) -> AssetPublic:
    return AssetPublic.of(assets.get_asset(session, asset_id))
