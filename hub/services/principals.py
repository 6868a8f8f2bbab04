"""Who is calling: the roles of Atrium's API and the principal a request acts as.

People have one or more roles; each kind of API key stands for exactly one. ``admin`` may do what any
role may. A room panel's key is scoped to its room, and a host (who is no member of staff) reaches only
the visits and bookings that carry their own email: those are the object-level rules.
"""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    """Runs the site: users, keys, settings, and everything else."""
    FACILITIES = "facilities"
    """Facilities staff: tickets, assets, safety, cleaning, energy, devices."""
    RECEPTION = "reception"
    """The front desk: every visit, the block list, roll call, badges."""
    HOST = "host"
    """Any employee: invites visitors and books rooms for themselves."""
    KIOSK = "kiosk"
    """A reception kiosk's key: check-in and check-out, badges, the host search."""
    PANEL = "panel"
    """A room panel's key: that one room's state and buttons."""
    INTEGRATION = "integration"
    """Another system's key: reads rooms, bookings, devices, tickets and energy; books and opens tickets."""


PERSON_ROLES = frozenset({Role.ADMIN, Role.FACILITIES, Role.RECEPTION, Role.HOST})
STAFF_ROLES = frozenset({Role.ADMIN, Role.FACILITIES, Role.RECEPTION})


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, as the credentials it presented say."""

    kind: str
    """``user`` or ``key``."""
    id: int
    name: str
    roles: frozenset[Role]
    email: str | None = None
    room_id: str | None = None
    """Set for a panel key: the only room it may act on."""

    @property
    def actor(self) -> str:
        """How the audit log names this caller: ``user:alice``, ``key:lobby-kiosk``."""
        return f"{self.kind}:{self.name}"

    def has(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or any(role in self.roles for role in roles)

    def owns(self, email: str | None) -> bool:
        """True when ``email`` is this caller's own (case-insensitive): a host's visit or booking."""
        return self.email is not None and email is not None and self.email.casefold() == email.casefold()
