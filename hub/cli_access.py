"""``atrium users`` and ``atrium keys``: people's accounts and the API keys of kiosks, panels and integrations.

Run by the site's admin on the hub's machine (it writes to the database directly, as ``admin`` would
through the API); each change goes to the audit log as ``cli:<login name>``.
"""

import getpass
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli_session import database_session
from hub.services import api_keys, users
from hub.services.principals import PERSON_ROLES, Role
from hub.store.auth_models import KeyKind

users_app = typer.Typer(
    help="People's accounts: add, list, change roles, switch off, set a password.", no_args_is_help=True
)
keys_app = typer.Typer(help="API keys for kiosks, room panels and integrations.", no_args_is_help=True)
console = Console()

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (default: settings)")]
RoleOption = Annotated[
    list[Role], typer.Option("--role", help=f"A role ({', '.join(sorted(PERSON_ROLES))}); repeat for more")
]
PasswordFile = Annotated[
    Path | None, typer.Option(help="Read the password from this file ('-': standard input); default: ask, or make one")
]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _password(password_file: Path | None) -> tuple[str, bool]:
    """The password to set, and whether it was made here (and must be shown once)."""
    if password_file is not None:
        text = sys.stdin.readline() if str(password_file) == "-" else password_file.read_text(encoding="utf-8")
        return text.strip(), False
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False
    return secrets.token_urlsafe(15), True


@users_app.command("add")
def add_user(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: RoleOption,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    email: Annotated[str | None, typer.Option(help="Email: ties a host to their visitors and bookings")] = None,
    password_file: PasswordFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Make an account. Without --password-file it asks for a password, or (no terminal) makes one and shows it once."""
    password, made = _password(password_file)
    with database_session(database_url) as session:
        user = users.create_user(
            session, username=username, password=password, roles=role, display_name=name, email=email,
            actor=_actor(), now=datetime.now(UTC),
        )  # fmt: skip
        roles = ", ".join(user.roles)
    console.print(f"Made [bold]{username}[/] ({roles}).")
    if made:
        console.print(f"Password (shown once): [bold]{password}[/]", soft_wrap=True)


@users_app.command("list")
def list_users(database_url: DatabaseUrl = None) -> None:
    """Every account, with its roles and whether it is on."""
    with database_session(database_url) as session:
        table = Table(title="Users")
        for column in ("id", "username", "name", "email", "roles", "active"):
            table.add_column(column)
        for user in users.list_users(session):
            table.add_row(
                str(user.id), user.username, user.display_name, user.email or "", ", ".join(user.roles),
                "yes" if user.active else "no",
            )  # fmt: skip
    console.print(table)


@users_app.command("set-roles")
def set_roles(
    username: Annotated[str, typer.Argument(help="Login name")], role: RoleOption, database_url: DatabaseUrl = None
) -> None:
    """Replace an account's roles (its sessions end)."""
    with database_session(database_url) as session:
        user = users.update_user(
            session, users.find_user(session, username), roles=role, actor=_actor(), now=datetime.now(UTC)
        )
        console.print(f"{username}: {', '.join(user.roles)}")


@users_app.command("disable")
def disable_user(username: Annotated[str, typer.Argument(help="Login name")], database_url: DatabaseUrl = None) -> None:
    """Switch an account off: it cannot sign in, and its sessions end at once."""
    _switch(username, active=False, database_url=database_url)


@users_app.command("enable")
def enable_user(username: Annotated[str, typer.Argument(help="Login name")], database_url: DatabaseUrl = None) -> None:
    """Switch an account back on."""
    _switch(username, active=True, database_url=database_url)


def _switch(username: str, *, active: bool, database_url: str | None) -> None:
    with database_session(database_url) as session:
        users.update_user(
            session, users.find_user(session, username), active=active, actor=_actor(), now=datetime.now(UTC)
        )
    console.print(f"{username} is switched {'on' if active else 'off'}.")


@users_app.command("password")
def set_password(
    username: Annotated[str, typer.Argument(help="Login name")],
    password_file: PasswordFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set an account's password (its sessions end)."""
    password, made = _password(password_file)
    with database_session(database_url) as session:
        users.set_password(session, users.find_user(session, username), password, actor=_actor(), now=datetime.now(UTC))
    shown = f" New password (shown once): [bold]{password}[/]" if made else ""
    console.print(f"{username}'s password is set.{shown}", soft_wrap=True)


@keys_app.command("create")
def create_key(
    kind: Annotated[KeyKind, typer.Argument(help="kiosk, panel or integration")],
    name: Annotated[str, typer.Argument(help="What it is for, e.g. 'lobby kiosk'")],
    room: Annotated[str | None, typer.Option(help="A panel key's room")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the key to this file (mode 600) instead of showing it")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Make a key; it is shown (or written) once and only its hash is kept."""
    with database_session(database_url) as session:
        key, text = api_keys.issue_key(
            session, kind=kind, name=name, room_id=room, actor=_actor(), now=datetime.now(UTC)
        )
        key_id = key.id
    if output is not None:
        write_secret_file(output, text)
        console.print(f"Key {key_id} ({kind}, {name}) written to {output}.", soft_wrap=True)
    else:
        console.print(f"Key {key_id} ({kind}, {name}), shown once:\n{text}", soft_wrap=True)


def write_secret_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text + "\n", encoding="utf-8")


@keys_app.command("list")
def list_keys(
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The keys (never their text): id, kind, name, room, when made and by whom."""
    with database_session(database_url) as session:
        table = Table(title="API keys")
        for column in ("id", "kind", "name", "room", "starts with", "made (UTC)", "by", "revoked"):
            table.add_column(column)
        for key in api_keys.list_keys(session, include_revoked=revoked):
            table.add_row(
                str(key.id), key.kind, key.name, key.room_id or "", key.prefix + "…",
                f"{key.created_at:%Y-%m-%d %H:%M}", key.created_by,
                f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
            )  # fmt: skip
    console.print(table)


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[int, typer.Argument(help="The key's id (atrium keys list)")], database_url: DatabaseUrl = None
) -> None:
    """Revoke a key: the kiosk, panel or integration holding it is refused from its next request."""
    with database_session(database_url) as session:
        key = api_keys.revoke_key(session, key_id, actor=_actor(), now=datetime.now(UTC))
        name = key.name
    console.print(f"Key {key_id} ({name}) is revoked.")
