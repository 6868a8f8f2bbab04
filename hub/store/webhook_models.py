"""Webhook deliveries: notifications to POST to the site's webhook URLs, written with the change they announce."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId


class WebhookDelivery(Base):
    """One notification for one URL, retried with backoff until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.Index("ix_webhook_deliveries_due", "delivered_at", "failed_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    """The JSON body, as sent."""
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    """When it was given up after too many attempts."""
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
