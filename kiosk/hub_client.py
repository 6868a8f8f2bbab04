"""The kiosk's side of the visitor API (docs/visitor-api.md): typed calls, and failures in words a visitor can read.

Every call has a short timeout: a visitor at the desk should hear "ask reception" within seconds, not
watch a spinner. A hub that cannot be reached, times out or answers 5xx or nonsense raises
:class:`HubUnavailable`; a hub that refuses the kiosk itself (401, or 403 with no ``reason`` code: its
key is unknown, revoked or not a kiosk's) raises :class:`HubDenied`; any other refusal (4xx, including a
403 for a forged code, which carries its ``reason``) raises :class:`HubRefused` with the hub's sentence,
its ``reason`` code and, for form errors, the field each message belongs beside.
"""

import logging
from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 4.0
M = TypeVar("M")


class HubError(Exception):
    """Something the kiosk could not get done at the hub; ``str()`` is a sentence for the visitor."""


class HubUnavailable(HubError):
    """The hub did not answer usefully: down, unreachable, too slow, or broken."""


KIOSK_DENIED = "This kiosk is not allowed to use the hub (its key was refused). Please go to reception."


class HubDenied(HubError):
    """The hub refused this kiosk, whatever it asked (401, or 403 from its access gate): it needs a working key.

    ``str()`` is :data:`KIOSK_DENIED`; the hub's own reason (for the log, not the visitor) is ``detail``."""

    def __init__(self, detail: str, *, status: int) -> None:
        super().__init__(KIOSK_DENIED)
        self.detail = detail
        self.status = status


class HubRefused(HubError):
    """The hub said no (4xx). ``fields`` maps form field names to the message to show beside each."""

    def __init__(
        self,
        detail: str,
        *,
        status: int,
        reason: str | None = None,
        field: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.reason = reason
        self.fields = dict(fields or {})
        if field is not None and not self.fields:
            self.fields[field] = detail
        self.field = field if field is not None else next(iter(self.fields), None)


class ApiModel(BaseModel):
    """A hub answer: unknown fields are ignored, so a newer hub does not break an older kiosk."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Person(ApiModel):
    id: str
    name: str
    email: str | None = None
    team: str | None = None


class Agreement(ApiModel):
    id: int | str
    visitor_type: str
    version: int | str
    title: str
    text: str
    hash: str


class BadgeStatus(ApiModel):
    job_id: str
    status: Literal["queued", "sent", "printed", "failed"]
    printer_id: str | None = None
    printer_name: str | None = None
    location: str | None = None
    message: str
    failovers: int = 0


class Visit(ApiModel):
    id: int | str
    status: str
    visitor_name: str
    visitor_email: str | None = None
    company: str | None = None
    host: Person | None = None
    visitor_type: str | None = None
    purpose: str | None = None
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    held_reason: str | None = None
    badge: BadgeStatus | None = None


class ScanPreview(ApiModel):
    kind: Literal["invitation", "checkout"]
    visit_id: int | str
    visitor_name: str
    company: str | None = None
    host_name: str | None = None
    visitor_type: str | None = None
    agreement: Agreement | None = None


class CheckIn(ApiModel):
    visit: Visit
    admitted: bool
    message: str


class Signature(ApiModel):
    agreement_hash: str
    signed_name: str


class WalkIn(ApiModel):
    """What the walk-in form collected."""

    visitor_name: str
    company: str | None = None
    visitor_email: str | None = None
    host_id: str
    purpose: str
    visitor_type: str


class RollCallVisitor(ApiModel):
    visit_id: int | str
    visitor_name: str
    company: str | None = None
    host_name: str | None = None
    checked_in_at: datetime | None = None


class RollCallRoom(ApiModel):
    room_id: str
    room_name: str
    floor: str | None = None
    people: int | None = None
    observed_at: datetime | None = None


class RollCall(ApiModel):
    generated_at: datetime
    site: str
    visitors: list[RollCallVisitor]
    rooms: list[RollCallRoom] = []


class HubClient:
    """Async calls to one hub. Use as ``async with HubClient(url) as hub:`` or call :meth:`aclose`."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s, transport=transport, headers=headers)

    async def __aenter__(self) -> "HubClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def people(self, query: str, *, limit: int = 20) -> list[Person]:
        """Hosts whose name or email contains ``query``."""
        return await self._call("GET", "/people", list[Person], params={"q": query, "limit": limit})

    async def scan(self, token: str) -> ScanPreview:
        """What a scanned QR code is, without redeeming it."""
        return await self._call("POST", "/visits/scan", ScanPreview, json={"token": token})

    async def check_in(
        self, token: str, *, kiosk_id: str, signature: Signature | None = None, photo_jpeg_b64: str | None = None
    ) -> CheckIn:
        """Redeem an invitation."""
        body: dict[str, Any] = {"token": token, "kiosk_id": kiosk_id}
        _add_extras(body, signature, photo_jpeg_b64)
        return await self._call("POST", "/visits/check-in", CheckIn, json=body)

    async def walk_in(
        self, form: WalkIn, *, kiosk_id: str, signature: Signature | None = None, photo_jpeg_b64: str | None = None
    ) -> CheckIn:
        """Check in a visitor who has no invitation."""
        body: dict[str, Any] = {**form.model_dump(exclude_none=True), "kiosk_id": kiosk_id}
        _add_extras(body, signature, photo_jpeg_b64)
        return await self._call("POST", "/visits/walk-ins", CheckIn, json=body)

    async def agreement(self, visitor_type: str) -> Agreement | None:
        """The agreement this type of visitor signs, or None when it needs none."""
        try:
            return await self._call("GET", "/agreements/current", Agreement, params={"visitor_type": visitor_type})
        except HubRefused as refused:
            if refused.status == 404:
                return None
            raise

    async def check_out(self, token: str) -> Visit:
        """Check out by the badge's QR code."""
        return await self._call("POST", "/visits/check-out", Visit, json={"token": token})

    async def badge(self, visit_id: int | str) -> BadgeStatus | None:
        """Where the visit's badge is; None while the hub has no print job for it yet."""
        try:
            return await self._call("GET", f"/visits/{visit_id}/badge", BadgeStatus)
        except HubRefused as refused:
            if refused.status == 404:
                return None
            raise

    async def rollcall(self) -> RollCall:
        """Everyone on site now."""
        return await self._call("GET", "/rollcall", RollCall)

    async def _call(self, method: str, path: str, shape: type[M], **request: Any) -> M:
        try:
            response = await self._http.request(method, path, **request)
        except httpx.TimeoutException as error:
            log.warning("%s %s timed out: %s", method, path, error)
            raise HubUnavailable("The hub is taking too long to answer.") from error
        except httpx.HTTPError as error:
            log.warning("%s %s failed: %s", method, path, error)
            raise HubUnavailable("The kiosk cannot reach the hub.") from error
        if response.status_code >= 500:
            log.warning("%s %s answered %d: %s", method, path, response.status_code, response.text[:200])
            raise HubUnavailable("The hub has a problem right now.")
        if response.status_code >= 400:
            refused = refusal(response)
            if refused.status == 401 or (refused.status == 403 and refused.reason is None):
                log.error("%s %s: the hub refused this kiosk (%d): %s", method, path, refused.status, refused.detail)
                raise HubDenied(refused.detail, status=refused.status)
            raise refused
        try:
            return TypeAdapter(shape).validate_json(response.content)
        except ValidationError as error:
            log.warning("%s %s answered something unexpected: %s", method, path, error)
            raise HubUnavailable("The hub gave an answer the kiosk does not understand.") from error


def refusal(response: httpx.Response) -> HubRefused:
    """A 4xx answer as :class:`HubRefused`: the hub's ``{"detail", "reason"}``, or FastAPI's list of field errors."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return HubRefused(f"The hub refused the request ({status}).", status=status)
    reason = body.get("reason") if isinstance(body.get("reason"), str) else None
    detail = body.get("detail")
    if isinstance(detail, str):
        field = body.get("field") if isinstance(body.get("field"), str) else None
        return HubRefused(detail, status=status, reason=reason, field=field)
    fields: dict[str, str] = {}
    if isinstance(detail, list):
        for error in detail:
            if not isinstance(error, dict):
                continue
            location = [part for part in error.get("loc", []) if part not in ("body", "query", "path")]
            name = str(location[0]) if location else ""
            fields.setdefault(name, plain_field_error(name, error))
    text = "; ".join(f"{name}: {message}" if name else message for name, message in fields.items())
    return HubRefused(text or f"The hub refused the request ({status}).", status=status, reason=reason, fields=fields)


def plain_field_error(field: str, error: dict[str, Any]) -> str:
    """One of FastAPI's field errors in words for a visitor (not "String should match pattern '^([^@\\s]+...")."""
    kind = str(error.get("type", ""))
    given = error.get("ctx")
    context: dict[str, Any] = given if isinstance(given, dict) else {}
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return "Please fill this in."
    if kind == "string_too_long" and "max_length" in context:
        return f"Please keep this under {context['max_length']} characters."
    if kind == "string_pattern_mismatch":
        if "email" in field:
            return "Please enter an email address like name@example.com."
        return "This is not in the expected form."
    return str(error.get("msg", "This is not valid.")).removeprefix("Value error, ")


def _add_extras(body: dict[str, Any], signature: Signature | None, photo_jpeg_b64: str | None) -> None:
    if signature is not None:
        body["signature"] = signature.model_dump()
    if photo_jpeg_b64:
        body["photo_jpeg_b64"] = photo_jpeg_b64
