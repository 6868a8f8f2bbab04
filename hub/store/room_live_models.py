"""What the hub knows live about each room: its occupancy, its condition and its display's schedule."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base


class RoomLive(Base):
    """One row per room, written by the occupancy reaction and the display refresh."""

    __tablename__ = "room_live"
    __table_args__ = (sa.Index("ix_room_live_display_changes_at", "display_changes_at"),)

    room_id: Mapped[str] = mapped_column(sa.ForeignKey("rooms.id"), primary_key=True)
    people: Mapped[int] = mapped_column(default=0)
    observed_at: Mapped[datetime | None]
    """When an occupancy sensor of the room last reported."""
    empty_since: Mapped[datetime | None]
    """Since when every reading said nobody is there (None while somebody is)."""
    out_of_order: Mapped[bool] = mapped_column(default=False)
    needs_cleaning: Mapped[bool] = mapped_column(default=False)
    display_digest: Mapped[str | None] = mapped_column(sa.String(64))
    """Digest of the last room state published, so an unchanged state is not sent again."""
    display_changes_at: Mapped[datetime | None]
    """When the published state changes by itself (a meeting starts or ends)."""
