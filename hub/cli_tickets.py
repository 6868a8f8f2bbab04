"""``atrium tickets``: maintenance tickets from the command line, on the database the settings name."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli_session import database_session
from hub.errors import AtriumError
from hub.services.tickets import TicketPolicy
from hub.store.ticket_models import Ticket, TicketPriority, TicketStatus

tickets_app = typer.Typer(help="Maintenance tickets: list, show, move along, comment.", no_args_is_help=True)

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (default: settings)")]
Actor = Annotated[str, typer.Option("--as", help="Who acts (recorded in the history and audit log)")]
Note = Annotated[str | None, typer.Option("--note", help="Why, for the history")]
TicketId = Annotated[int, typer.Argument(help="Ticket number")]


def _policy(database_url: str | None) -> TicketPolicy:
    from hub.cli import fail, settings_with
    from hub.services.fault_rules import load_rules

    try:
        return load_rules(settings_with(database_url=database_url).fault_rules_file).policy
    except AtriumError as error:
        raise fail(error) from None


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else ""


def tickets_table(found: list[Ticket]) -> Table:
    table = Table(title="Tickets")
    for column in ("#", "priority", "status", "title", "asset", "room", "opened (UTC)", "esc", "occ", "assignee"):
        table.add_column(column, justify="right" if column in {"#", "esc", "occ"} else "left")
    for ticket in found:
        table.add_row(
            str(ticket.id),
            ticket.priority,
            ticket.status,
            ticket.title,
            ticket.asset_id or "",
            ticket.room_id or "",
            _when(ticket.opened_at),
            str(ticket.escalation_level),
            str(ticket.occurrences),
            ticket.assignee or ticket.team or "",
        )
    return table


@tickets_app.command("list")
def list_command(
    status: Annotated[list[TicketStatus] | None, typer.Option("--status", help="Only these statuses")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Also resolved and closed tickets")] = False,
    priority: Annotated[TicketPriority | None, typer.Option("--priority")] = None,
    asset: Annotated[str | None, typer.Option("--asset", help="Only this asset's tickets")] = None,
    room: Annotated[str | None, typer.Option("--room", help="Only this room's tickets")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Tickets, newest first (open ones unless --all or --status)."""
    from hub.services import tickets

    with database_session(database_url) as session:
        found = list(
            tickets.list_tickets(
                session,
                status=[s.value for s in status] if status else None,
                open_only=not all_ and not status,
                priority=priority.value if priority else None,
                asset_id=asset,
                room_id=room,
            )
        )
        Console().print(tickets_table(found) if found else "no tickets")


@tickets_app.command("show")
def show_command(ticket_id: TicketId, database_url: DatabaseUrl = None) -> None:
    """One ticket with its history."""
    from hub.services import tickets

    console = Console()
    with database_session(database_url) as session:
        ticket = tickets.get_ticket(session, ticket_id)
        console.print(f"[bold]#{ticket.id} {ticket.title}[/]")
        for label, value in (
            ("status", ticket.status),
            ("priority", ticket.priority),
            ("asset", ticket.asset_id),
            ("room", ticket.room_id),
            ("fault", ticket.fault_type),
            ("source", ticket.source),
            ("assignee", ticket.assignee),
            ("team", ticket.team),
            ("opened", _when(ticket.opened_at)),
            ("acknowledge by", _when(ticket.ack_due_at)),
            ("escalation level", ticket.escalation_level),
            ("occurrences", ticket.occurrences),
        ):
            if value not in (None, ""):
                console.print(f"  {label}: {value}")
        table = Table(title="History")
        for column in ("at (UTC)", "who", "what", "text"):
            table.add_column(column)
        for event in tickets.history(session, ticket_id):
            what = event.kind
            if event.kind == "transition":
                what = f"{event.detail.get('from')} -> {event.detail.get('to')}"
            table.add_row(_when(event.at), event.actor, what, event.text or "")
        console.print(table)


def _mover(to: TicketStatus, help_text: str) -> Callable[..., None]:
    def move(ticket_id: TicketId, actor: Actor = "staff", note: Note = None, database_url: DatabaseUrl = None) -> None:
        from hub.services import tickets

        policy = _policy(database_url)
        with database_session(database_url) as session:
            ticket = tickets.transition(
                session, ticket_id, to, actor=actor, now=datetime.now(UTC), note=note, policy=policy
            )
            Console().print(f"ticket {ticket.id} is {ticket.status}")

    move.__doc__ = help_text
    return move


tickets_app.command("ack")(_mover(TicketStatus.ACKNOWLEDGED, "Acknowledge a ticket (stops its escalation)."))
tickets_app.command("start")(_mover(TicketStatus.IN_PROGRESS, "Start work on an acknowledged ticket."))
tickets_app.command("hold")(_mover(TicketStatus.ON_HOLD, "Put a ticket in progress on hold."))
tickets_app.command("resolve")(_mover(TicketStatus.RESOLVED, "Mark a ticket resolved."))
tickets_app.command("close")(_mover(TicketStatus.CLOSED, "Close a resolved ticket."))
tickets_app.command("reopen")(_mover(TicketStatus.OPEN, "Reopen a resolved ticket."))


@tickets_app.command("comment")
def comment_command(
    ticket_id: TicketId,
    text: Annotated[str, typer.Argument(help="The comment")],
    actor: Actor = "staff",
    database_url: DatabaseUrl = None,
) -> None:
    """Add a comment to a ticket's history."""
    from hub.services import tickets

    with database_session(database_url) as session:
        tickets.comment(session, ticket_id, text, actor=actor, now=datetime.now(UTC))
        Console().print(f"comment added to ticket {ticket_id}")


@tickets_app.command("assign")
def assign_command(
    ticket_id: TicketId,
    assignee: Annotated[str | None, typer.Option("--to", help="The person")] = None,
    team: Annotated[str | None, typer.Option("--team", help="The team")] = None,
    actor: Actor = "staff",
    database_url: DatabaseUrl = None,
) -> None:
    """Give a ticket to a person and/or a team."""
    from hub.services import tickets

    with database_session(database_url) as session:
        ticket = tickets.assign(session, ticket_id, actor=actor, now=datetime.now(UTC), assignee=assignee, team=team)
        Console().print(f"ticket {ticket.id}: {ticket.assignee or ''} {ticket.team or ''}".rstrip())
