"""Request and response models of the visitor API (docs/visitor-api.md): Create / Public shapes per resource."""

import base64
import binascii
from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.services.badges import BadgeStatus
from hub.services.rollcall import RollCall
from hub.services.visit_arrivals import Arrival, ScanPreview, Signature
from hub.store.visit_models import Agreement as AgreementRow
from hub.store.visit_models import BlockListEntry, Person, Visit

MAX_PHOTO_BYTES = 2_000_000
Name = Field(min_length=1, max_length=120)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PersonPublic(BaseModel):
    id: str
    name: str
    email: str
    team: str

    @classmethod
    def of(cls, person: Person) -> Self:
        return cls(id=person.id, name=person.name, email=person.email, team=person.team)


class InvitationCreate(_Input):
    visitor_name: str = Name
    visitor_email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["lee@example.org"])
    company: str | None = Field(default=None, max_length=120)
    host_id: str = Field(min_length=1, max_length=64, examples=["ann"])
    visitor_type: str = Field(default="guest", max_length=32)
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("the visit must end after it starts")
        return self


class SignatureIn(_Input):
    agreement_hash: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")
    signed_name: str = Name

    def to_service(self) -> Signature:
        return Signature(agreement_hash=self.agreement_hash, signed_name=self.signed_name)


class _Arrival(_Input):
    kiosk_id: str = Field(min_length=1, max_length=64, examples=["kiosk-1"])
    signature: SignatureIn | None = None
    photo_jpeg_b64: str | None = Field(default=None, description="A JPEG from the kiosk camera, base64")

    @field_validator("photo_jpeg_b64")
    @classmethod
    def _is_a_jpeg(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the photo is not valid base64") from None
        if not data.startswith(b"\xff\xd8\xff"):
            raise ValueError("the photo must be a JPEG")
        if len(data) > MAX_PHOTO_BYTES:
            raise ValueError(f"the photo is larger than {MAX_PHOTO_BYTES // 1_000_000} MB")
        return value

    def photo(self) -> bytes | None:
        return base64.b64decode(self.photo_jpeg_b64) if self.photo_jpeg_b64 else None


class CheckInRequest(_Arrival):
    token: str = Field(min_length=1, max_length=512)


class WalkInCreate(_Arrival):
    visitor_name: str = Name
    company: str | None = Field(default=None, max_length=120)
    visitor_email: str | None = Field(default=None, max_length=254, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")
    host_id: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=200)
    visitor_type: str = Field(default="guest", max_length=32)


class TokenRequest(_Input):
    token: str = Field(min_length=1, max_length=512)


class VisitPublic(BaseModel):
    id: int
    status: str
    visitor_name: str
    visitor_email: str | None
    company: str | None
    host: PersonPublic
    visitor_type: str
    purpose: str | None
    starts_at: datetime
    ends_at: datetime
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    held_reason: str | None
    badge: BadgeStatus | None

    @classmethod
    def of(cls, visit: Visit, badge: BadgeStatus | None) -> Self:
        return cls(
            id=visit.id,
            status=visit.status,
            visitor_name=visit.visitor_name,
            visitor_email=visit.visitor_email,
            company=visit.company,
            host=PersonPublic.of(visit.host),
            visitor_type=visit.visitor_type,
            purpose=visit.purpose,
            starts_at=visit.starts_at,
            ends_at=visit.ends_at,
            checked_in_at=visit.checked_in_at,
            checked_out_at=visit.checked_out_at,
            held_reason=visit.held_reason,
            badge=badge,
        )


class InvitationLinks(BaseModel):
    qr_png: str
    qr_svg: str
    email: str
    calendar: str


class InvitationPublic(VisitPublic):
    token: str = Field(description="The signed QR payload (ATR1.…)")
    links: InvitationLinks


class AgreementPublic(BaseModel):
    id: int
    visitor_type: str
    version: int
    title: str
    text: str
    hash: str

    @classmethod
    def of(cls, agreement: AgreementRow) -> Self:
        return cls(
            id=agreement.id,
            visitor_type=agreement.visitor_type,
            version=agreement.version,
            title=agreement.title,
            text=agreement.text,
            hash=agreement.hash,
        )


class AgreementCreate(_Input):
    visitor_type: str = Field(max_length=32)
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=100_000)


class ScanPreviewPublic(BaseModel):
    kind: Literal["invitation", "checkout"]
    visit_id: int
    visitor_name: str
    company: str | None
    host_name: str
    visitor_type: str
    agreement: AgreementPublic | None

    @classmethod
    def of(cls, preview: ScanPreview) -> Self:
        visit = preview.visit
        return cls(
            kind=preview.kind.value,
            visit_id=visit.id,
            visitor_name=visit.visitor_name,
            company=visit.company,
            host_name=visit.host.name,
            visitor_type=visit.visitor_type,
            agreement=AgreementPublic.of(preview.agreement) if preview.agreement else None,
        )


class CheckInPublic(BaseModel):
    visit: VisitPublic
    admitted: bool
    message: str

    @classmethod
    def of(cls, arrival: Arrival, badge: BadgeStatus | None) -> Self:
        return cls(visit=VisitPublic.of(arrival.visit, badge), admitted=arrival.admitted, message=arrival.message)


class BlockListCreate(_Input):
    name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254)
    company: str | None = Field(default=None, max_length=120)
    reason: str = Field(min_length=1, max_length=200)


class BlockListPublic(BaseModel):
    id: int
    name: str | None
    email: str | None
    company: str | None
    reason: str
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, entry: BlockListEntry) -> Self:
        return cls(
            id=entry.id,
            name=entry.name,
            email=entry.email,
            company=entry.company,
            reason=entry.reason,
            created_at=entry.created_at,
            created_by=entry.created_by,
        )


class RollCallVisitor(BaseModel):
    visit_id: int
    visitor_name: str
    company: str | None
    host_name: str
    checked_in_at: datetime


class RollCallRoom(BaseModel):
    room_id: str
    room_name: str
    floor: str
    people: int
    observed_at: datetime


class RollCallPublic(BaseModel):
    generated_at: datetime
    site: str
    visitors: list[RollCallVisitor]
    rooms: list[RollCallRoom]

    @classmethod
    def of(cls, call: RollCall) -> Self:
        return cls(
            generated_at=call.generated_at,
            site=call.site,
            visitors=[RollCallVisitor.model_validate(v, from_attributes=True) for v in call.visitors],
            rooms=[RollCallRoom.model_validate(r, from_attributes=True) for r in call.rooms],
        )
