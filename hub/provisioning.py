"""Device identity: one MQTT account per device and one for the hub, and the broker files they need.

The database keeps each account's password only as Mosquitto's own hash, so the password file and
the ACL file can be written again from it at any time (after a revocation, say). A password in
plain text exists once: when it is made, it goes to the credentials file that firmware (or
firmware-sim) logs in with, and nowhere else; it is never logged.
"""

import json
import logging
import os
import secrets
import signal
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.topics import DEVICE_CHANNELS, HUB_NODE, ROOT, Channel, device_topic, subscriptions
from hub.errors import ConfigError, Invalid, NotFound
from hub.mqtt.broker_auth import HUB_USERNAME, Access, AclRule, hash_password, render_acl, render_password_file
from hub.store.audit import record
from hub.store.credential_models import DeviceCredential

log = logging.getLogger(__name__)

DEVICE_ROLE = "device"
HUB_ROLE = "hub"
PASSWORD_BYTES = 32

PASSWORD_FILE = "passwd"
ACL_FILE = "acl"
CREDENTIALS_FILE = "device-credentials.json"
HUB_PASSWORD_FILE = "hub-password"


def new_password() -> str:
    """A random password (256 bits, URL-safe, so it fits in an ``mqtt://user:pass@`` URL as it is)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def device_rules(site_id: str, device_id: str) -> list[AclRule]:
    """A device publishes only on its own channels and reads only its own commands."""
    rules = [AclRule(Access.WRITE, device_topic(site_id, device_id, channel)) for channel in DEVICE_CHANNELS]
    rules.append(AclRule(Access.READ, device_topic(site_id, device_id, Channel.COMMAND)))
    return rules


def hub_rules(site_id: str) -> list[AclRule]:
    """The hub reads every device channel (also through ``$share/...``) and writes commands and its own node."""
    rules = [AclRule(Access.READ, topic_filter) for topic_filter in subscriptions(site_id)]
    rules.append(AclRule(Access.WRITE, f"{ROOT}/{site_id}/+/{Channel.COMMAND.value}"))
    rules.append(AclRule(Access.WRITE, f"{ROOT}/{site_id}/{HUB_NODE}/#"))
    return rules


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """Where the files for the broker and the firmware are written (one folder)."""

    folder: Path

    @property
    def password_file(self) -> Path:
        return self.folder / PASSWORD_FILE

    @property
    def acl_file(self) -> Path:
        return self.folder / ACL_FILE

    @property
    def credentials_file(self) -> Path:
        return self.folder / CREDENTIALS_FILE

    @property
    def hub_password_file(self) -> Path:
        return self.folder / HUB_PASSWORD_FILE


@dataclass
class Provisioned:
    """What one provisioning run did; ``passwords`` holds the new plain-text passwords (never print them)."""

    created: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict, repr=False)


def provision(
    session: Session,
    *,
    device_ids: Iterable[str],
    rotate: Collection[str] = (),
    rotate_hub: bool = False,
    actor: str,
    now: datetime,
) -> Provisioned:
    """Give every device without an account (and the hub) one; ``rotate`` gives those devices a new password.

    A revoked device stays revoked unless named in ``rotate``; an account whose device left the
    building is revoked.
    """
    in_building = set(device_ids)
    if unknown := sorted(set(rotate) - in_building):
        raise NotFound(f"no device {unknown[0]!r} in the building")
    accounts = {row.username: row for row in session.scalars(sa.select(DeviceCredential))}
    result = Provisioned()
    wanted = [(HUB_USERNAME, HUB_ROLE, rotate_hub)] + [
        (device_id, DEVICE_ROLE, device_id in rotate) for device_id in sorted(in_building)
    ]
    for username, role, forced in wanted:
        row = accounts.get(username)
        if row is not None and not forced:
            continue
        password = new_password()
        result.passwords[username] = password
        if row is None:
            row = DeviceCredential(username=username, role=role, created_at=now, revoked_at=None)
            session.add(row)
            result.created.append(username)
        else:
            result.rotated.append(username)
        row.password_hash = hash_password(password)
        row.rotated_at = now
        row.revoked_at = None
        action = "created" if username in result.created else "rotated"
        record(
            session,
            actor=actor,
            action=f"mqtt_account.{action}",
            object_type="mqtt_account",
            object_id=username,
            now=now,
        )
    for username, row in accounts.items():
        if row.role == DEVICE_ROLE and username not in in_building and row.revoked_at is None:
            _revoke(session, row, actor=actor, now=now, reason="left the building")
            result.retired.append(username)
    session.flush()
    return result


def revoke(session: Session, device_id: str, *, actor: str, now: datetime) -> None:
    """Take a device's account away; it stays revoked until it is provisioned again by name."""
    row = session.get(DeviceCredential, device_id)
    if row is None or row.role != DEVICE_ROLE:
        raise NotFound(f"no device account {device_id!r}")
    if row.revoked_at is not None:
        raise Invalid(f"device {device_id!r} is already revoked")
    _revoke(session, row, actor=actor, now=now, reason="revoked")
    session.flush()


def _revoke(session: Session, row: DeviceCredential, *, actor: str, now: datetime, reason: str) -> None:
    row.password_hash = None
    row.revoked_at = now
    record(
        session,
        actor=actor,
        action="mqtt_account.revoked",
        object_type="mqtt_account",
        object_id=row.username,
        now=now,
        detail={"reason": reason},
    )


def active_accounts(session: Session) -> dict[str, DeviceCredential]:
    """Accounts that may log in, by username."""
    query = sa.select(DeviceCredential).where(DeviceCredential.revoked_at.is_(None))
    return {row.username: row for row in session.scalars(query) if row.password_hash}


def write_broker_files(session: Session, files: BrokerFiles, *, site_id: str, new_passwords: Mapping[str, str]) -> None:
    """Write the password file, the ACL file and the credentials files from the database.

    Each file is replaced whole (written beside, then renamed) so a broker reloading at that moment
    reads the old file or the new one, never half of one.
    """
    accounts = active_accounts(session)
    files.folder.mkdir(parents=True, exist_ok=True)
    hashes = {username: row.password_hash for username, row in accounts.items() if row.password_hash}
    _replace(files.password_file, render_password_file(hashes), mode=0o600)
    rules = {
        username: hub_rules(site_id) if row.role == HUB_ROLE else device_rules(site_id, username)
        for username, row in accounts.items()
    }
    header = f"# Generated by 'atrium devices provision' for site {site_id}; edits are overwritten.\n"
    _replace(files.acl_file, render_acl(rules, header=header), mode=0o644)
    known = read_credentials(files.credentials_file)
    devices = {
        username: new_passwords.get(username) or known.get(username, "")
        for username, row in accounts.items()
        if row.role == DEVICE_ROLE
    }
    missing = sorted(username for username, password in devices.items() if not password)
    if missing:
        log.warning("%d device passwords are not in %s (rotate them to get new ones)", len(missing), files.folder)
    kept = {username: password for username, password in sorted(devices.items()) if password}
    _replace(files.credentials_file, json.dumps(kept, indent=2) + "\n", mode=0o600)
    if HUB_USERNAME in new_passwords:
        _replace(files.hub_password_file, new_passwords[HUB_USERNAME] + "\n", mode=0o600)


def read_credentials(path: Path) -> dict[str, str]:
    """``{device id: password}`` from a credentials file; an absent file holds none."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the credentials file {path}: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(f"the credentials file {path} is not a JSON object of device id to password")
    return data


def _replace(path: Path, text: str, *, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def reload_broker(pid_file: Path) -> int:
    """Ask Mosquitto to read its password and ACL files again (SIGHUP); returns its pid.

    On reload Mosquitto authenticates every connected client again and disconnects those whose
    password no longer matches, so a revoked device is cut off at once.
    """
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot signal the broker from pid file {pid_file}: {error}") from None
    return pid
