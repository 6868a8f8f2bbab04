"""``atrium devices provision|revoke`` and ``atrium certs``: device identity and TLS for the site's broker."""

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.errors import AtriumError

DEFAULT_FOLDER = Path("var/mqtt")
DEFAULT_CERTS = Path("var/certs")

BuildingOption = Annotated[
    Path | None, typer.Option("--building", help="Building file (TOML); default: the sample building")
]
DatabaseOption = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL")]
FolderOption = Annotated[
    Path, typer.Option("--out", help="Folder for the password file, the ACL file and the credentials files")
]
PidFileOption = Annotated[
    Path | None, typer.Option("--pid-file", help="Mosquitto's pid file: send it SIGHUP to read the files again")
]


def provision_command(
    device: Annotated[
        list[str] | None, typer.Option("--device", help="Give this device a new password (repeatable)")
    ] = None,
    hub: Annotated[bool, typer.Option("--hub", help="Give the hub's account a new password")] = False,
    out: FolderOption = DEFAULT_FOLDER,
    pid_file: PidFileOption = None,
    building: BuildingOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Give every device of the building its own MQTT account, and write the broker's password and ACL files.

    New passwords go to DEVICE-CREDENTIALS.JSON (device id -> password, for firmware and
    'atrium sim --credentials') and HUB-PASSWORD in the folder, readable by the owner only; the
    database keeps only their hashes. Devices that have an account keep it unless named with --device.
    """
    from hub.cli import fail, settings_with
    from hub.provisioning import BrokerFiles, provision, reload_broker, write_broker_files
    from hub.runtime import Database, load_site

    console = Console()
    settings = settings_with(building=building, database_url=database_url)
    files = BrokerFiles(out)
    try:
        site = load_site(settings)
        database = Database.open(settings.database_url)
        try:
            with database.sessions.begin() as session:
                done = provision(
                    session,
                    device_ids=[spec.id for _, _, spec in site.devices()],
                    rotate=set(device or ()),
                    rotate_hub=hub,
                    actor=_actor(),
                    now=datetime.now(UTC),
                )
                write_broker_files(session, files, site_id=site.site.id, new_passwords=done.passwords)
        finally:
            database.close()
        if pid_file is not None:
            reload_broker(pid_file)
    except AtriumError as error:
        raise fail(error) from None
    console.print(
        f"site {site.site.id}: {len(done.created)} accounts created, {len(done.rotated)} given a new password, "
        f"{len(done.retired)} revoked (no longer in the building)"
    )
    console.print(f"broker files   {files.password_file}  {files.acl_file}")
    console.print(f"device logins  {files.credentials_file}  (atrium sim --credentials {files.credentials_file})")
    if "_hub" in done.passwords:
        console.print(
            f"hub login      user _hub, password in {files.hub_password_file} (mqtt://_hub:PASSWORD@host:port)"
        )
    if pid_file is not None:
        console.print("broker told to reload")


def revoke_command(
    device_id: Annotated[str, typer.Argument(help="The device whose account is taken away")],
    out: FolderOption = DEFAULT_FOLDER,
    pid_file: PidFileOption = None,
    building: BuildingOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Take a device's MQTT account away and rewrite the broker's files; with --pid-file it is cut off at once."""
    from hub.cli import fail, settings_with
    from hub.provisioning import BrokerFiles, reload_broker, revoke, write_broker_files
    from hub.runtime import Database, load_site

    settings = settings_with(building=building, database_url=database_url)
    try:
        site = load_site(settings)
        database = Database.open(settings.database_url)
        try:
            with database.sessions.begin() as session:
                revoke(session, device_id, actor=_actor(), now=datetime.now(UTC))
                write_broker_files(session, BrokerFiles(out), site_id=site.site.id, new_passwords={})
        finally:
            database.close()
        if pid_file is not None:
            reload_broker(pid_file)
    except AtriumError as error:
        raise fail(error) from None
    Console().print(f"revoked {device_id}" + ("; broker told to reload" if pid_file else ""))


def certs_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for ca.crt, server.crt/.key and client certificates")] = (
        DEFAULT_CERTS
    ),
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="A name or address the broker is reached by (repeatable); default: localhost"),
    ] = None,
    client: Annotated[list[str] | None, typer.Option("--client", help="Also make a client certificate")] = None,
    building: BuildingOption = None,
) -> None:
    """Make a development CA (kept if the folder has one) and the broker's certificate for mqtts://."""
    from hub.certs import DEFAULT_HOSTS, make_site_certificates
    from hub.cli import fail, settings_with
    from hub.runtime import load_site

    try:
        site = load_site(settings_with(building=building))
        made = make_site_certificates(out, site=site.site.id, hosts=host or DEFAULT_HOSTS, clients=client or ())
    except (AtriumError, OSError, ValueError) as error:
        raise fail(error) from None
    console = Console()
    console.print(f"CA      {made.ca.certificate}  (give it to devices; the hub's ATRIUM_MQTT_CA_FILE)")
    console.print(f"broker  {made.server.certificate}  {made.server.key}")
    for name, issued in made.clients.items():
        console.print(f"client  {name}: {issued.certificate}  {issued.key}")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
