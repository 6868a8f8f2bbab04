"""Badge print jobs: one per badge asked for, followed from the first printer to a printed badge or a failure."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base


class PrintJob(Base):
    """A visitor's badge on its way to a printer; ``tried`` lists the printers of each attempt, in order.

    ``zpl`` and ``facts`` hold the visitor's personal data and are blanked (None) by retention.
    """

    __tablename__ = "print_jobs"
    __table_args__ = (sa.Index("ix_print_jobs_status_sent_at", "status", "sent_at"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    site_id: Mapped[str] = mapped_column(sa.String(64))
    kiosk_id: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    printer_id: Mapped[str | None] = mapped_column(sa.String(64))
    tried: Mapped[list[str]] = mapped_column(default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    failovers: Mapped[int] = mapped_column(default=0)
    zpl: Mapped[str | None] = mapped_column(sa.Text)
    facts: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(sa.String(500))
