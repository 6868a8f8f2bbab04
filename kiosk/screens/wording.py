"""Plain words for what the hub refuses and what breaks, shared by the screens."""

from kiosk.hub_client import HubDenied, HubError, HubRefused, HubUnavailable

CODE_REFUSALS = {
    "malformed": "This QR code is not an invitation from this office.",
    "unknown_key": "This invitation was not issued by this office.",
    "bad_signature": "This invitation could not be verified: it may have been altered.",
    "expired": "This invitation has expired.",
    "not_yet_valid": "This invitation is not valid yet: it is for a later time.",
    "wrong_kind": "This QR code is not the right kind here.",
    "already_used": "This invitation has already been used to check in.",
    "unknown_visit": "We cannot find the visit this code belongs to.",
    "cancelled": "This visit has been cancelled.",
}
HUB_DOWN = "The kiosk cannot reach the office system right now. Please ask reception for help."


def headline(error: HubError) -> str:
    """One short sentence for the visitor about ``error``."""
    if isinstance(error, HubUnavailable):
        return HUB_DOWN
    if isinstance(error, HubRefused) and error.reason in CODE_REFUSALS:
        return CODE_REFUSALS[error.reason]
    return str(error)


def explanation(error: HubError) -> str:
    """The headline, and the hub's own sentence under it when that adds something (a refused kiosk's reason is
    for the log, not the visitor)."""
    first = headline(error)
    detail = str(error)
    if isinstance(error, HubUnavailable | HubDenied) or detail == first or not detail:
        return first
    return f"{first}\n{detail}"
