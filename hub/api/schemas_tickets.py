"""Request and response models of the tickets and assets API, separate from the ORM models."""

from datetime import date, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from hub.store.ticket_models import Asset, Ticket, TicketEvent, TicketPriority, TicketStatus

Text = Field(min_length=1, max_length=4000)


class AssetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    name: str
    room_id: str | None
    make_model: str | None
    install_date: date | None
    warranty_until: date | None
    status: str

    @classmethod
    def of(cls, asset: Asset) -> Self:
        return cls.model_validate(asset)


class TicketPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    asset_id: str | None
    room_id: str | None
    fault_type: str
    title: str
    description: str | None
    priority: str
    status: str
    source: str
    assignee: str | None
    team: str | None
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    escalation_level: int
    occurrences: int
    last_occurrence_at: datetime

    @classmethod
    def of(cls, ticket: Ticket) -> Self:
        return cls.model_validate(ticket)


class TicketEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    kind: str
    text: str | None
    detail: dict[str, Any]


class TicketDetail(TicketPublic):
    asset: AssetPublic | None = None
    history: list[TicketEventPublic]

    @classmethod
    def with_history(cls, ticket: Ticket, asset: Asset | None, events: list[TicketEvent]) -> Self:
        return cls.model_validate(
            {
                **TicketPublic.of(ticket).model_dump(),
                "asset": AssetPublic.of(asset) if asset is not None else None,
                "history": [TicketEventPublic.model_validate(event) for event in events],
            }
        )


class TicketCreate(BaseModel):
    """A ticket opened by staff (or a form): on an asset, in a room, or both."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    asset_id: str | None = Field(default=None, max_length=160)
    room_id: str | None = Field(default=None, max_length=64)
    fault_type: str = Field(default="reported", pattern=r"^[a-z][a-z0-9_]{0,47}$")
    priority: TicketPriority | None = None
    reporter: str | None = Field(default=None, max_length=120, description="Who reports it (default: the caller)")


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: TicketStatus
    note: str | None = Field(default=None, max_length=4000)


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Text


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str | None = Field(default=None, max_length=120)
    team: str | None = Field(default=None, max_length=64)
