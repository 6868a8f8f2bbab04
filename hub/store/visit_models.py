"""Visitors: the people directory (hosts), visits, single-use token redemptions, agreements, block list, photos."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.store.models import Base, BigId


class VisitStatus(StrEnum):
    """Where a visit is in its life."""

    INVITED = "invited"
    HELD = "held"
    """A block-list match: waiting for reception to approve or deny."""
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    CANCELLED = "cancelled"
    DENIED = "denied"


class TokenUse(StrEnum):
    """What a redeemed token was used for."""

    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"


class Person(Base):
    """Someone of the site's directory (``deploy/people.toml``): a host visitors come to see."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    team: Mapped[str] = mapped_column(sa.String(120))
    active: Mapped[bool] = mapped_column(default=True)
    """False once gone from the directory; kept because past visits name them."""


class Visit(Base):
    """One visitor's visit, invited ahead or walked in; personal fields are purged after retention."""

    __tablename__ = "visits"
    __table_args__ = (
        sa.Index("ix_visits_status_starts", "status", "starts_at"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_visits_ends_after_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    visitor_name: Mapped[str] = mapped_column(sa.String(120))
    visitor_email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    company: Mapped[str | None] = mapped_column(sa.String(120))
    host_id: Mapped[str] = mapped_column(sa.ForeignKey("people.id"), index=True)
    visitor_type: Mapped[str] = mapped_column(sa.String(32))
    purpose: Mapped[str | None] = mapped_column(sa.String(200))
    walk_in: Mapped[bool] = mapped_column(default=False)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    invitation_nonce: Mapped[str | None] = mapped_column(sa.String(24))
    """The nonce of the visit's current invitation token (a re-issued invitation replaces it)."""
    checkout_nonce: Mapped[str | None] = mapped_column(sa.String(24))
    arrived_at: Mapped[datetime | None]
    """When the visitor was at a kiosk (admitted or held)."""
    checked_in_at: Mapped[datetime | None]
    checked_out_at: Mapped[datetime | None]
    kiosk_id: Mapped[str | None] = mapped_column(sa.String(64))
    held_reason: Mapped[str | None] = mapped_column(sa.String(200))
    approved_at: Mapped[datetime | None]
    """Reception cleared a block-list match: it is not held again for it."""
    overstay_notified_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    host: Mapped[Person] = relationship(lazy="joined", innerjoin=True)


class VisitRedemption(Base):
    """A token used once: the primary key on the nonce makes a second use fail on any database."""

    __tablename__ = "visit_redemptions"

    nonce: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    use: Mapped[str] = mapped_column(sa.String(16))
    kiosk_id: Mapped[str | None] = mapped_column(sa.String(64))
    redeemed_at: Mapped[datetime]


class Agreement(Base):
    """One version of the text a visitor type signs (an NDA, safety rules); the newest version is current."""

    __tablename__ = "agreements"
    __table_args__ = (sa.UniqueConstraint("visitor_type", "version", name="uq_agreements_type_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    visitor_type: Mapped[str] = mapped_column(sa.String(32))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    hash: Mapped[str] = mapped_column(sa.String(64))
    """SHA-256 of the title and text: what a signature binds to."""
    created_at: Mapped[datetime]


class AgreementSignature(Base):
    """A visitor's acceptance of one agreement version, typed name and time, for one visit."""

    __tablename__ = "agreement_signatures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreements.id"))
    agreement_hash: Mapped[str] = mapped_column(sa.String(64))
    signed_name: Mapped[str] = mapped_column(sa.String(120))
    signed_at: Mapped[datetime]


class BlockListEntry(Base):
    """Someone reception wants to see before they are let in: a name, an email or a company."""

    __tablename__ = "visitor_blocklist"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    company: Mapped[str | None] = mapped_column(sa.String(120))
    reason: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(120))


class VisitPhoto(Base):
    """The photo taken at the kiosk; purged sooner than the rest of the visit."""

    __tablename__ = "visit_photos"

    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(sa.LargeBinary)
    taken_at: Mapped[datetime] = mapped_column(index=True)
