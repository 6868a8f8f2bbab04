"""Device accounts: made once, kept hashed, rotated and revoked by name, and the files the brokers read."""

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli import app
from hub.errors import NotFound
from hub.mqtt.broker_auth import HUB_USERNAME, parse_acl, parse_password_file, verify_password
from hub.provisioning import BrokerFiles, provision, revoke, write_broker_files
from hub.runtime import Database
from hub.store.audit import AuditEntry
from hub.store.credential_models import DeviceCredential
from tests.databases import ScratchDatabase

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DEVICES = ["dev-a", "dev-b", "dev-c"]


@pytest.fixture
def db(database: ScratchDatabase) -> Iterator[Database]:
    opened = Database.open(database.url)
    yield opened
    opened.close()


def run(db: Database, files: BrokerFiles, devices: list[str] = DEVICES, **options: object) -> dict[str, str]:
    with db.sessions.begin() as session:
        done = provision(session, device_ids=devices, actor="test", now=NOW, **options)  # type: ignore[arg-type]
        write_broker_files(session, files, site_id="hq", new_passwords=done.passwords)
    return done.passwords


def logins(files: BrokerFiles) -> dict[str, str]:
    data: dict[str, str] = json.loads(files.credentials_file.read_text())
    return data


def test_every_device_and_the_hub_get_an_account_whose_password_only_the_credentials_file_holds(
    db: Database, tmp_path: Path
) -> None:
    files = BrokerFiles(tmp_path / "mqtt")
    passwords = run(db, files)
    assert set(passwords) == {*DEVICES, HUB_USERNAME}
    assert set(logins(files)) == set(DEVICES)
    hashes = parse_password_file(files.password_file.read_text())
    for device_id in DEVICES:
        assert verify_password(logins(files)[device_id], hashes[device_id])
    assert verify_password(files.hub_password_file.read_text().strip(), hashes[HUB_USERNAME])
    for secret_file in (files.credentials_file, files.hub_password_file, files.password_file):
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    with db.sessions() as session:
        stored = " ".join(str(row.password_hash) for row in session.scalars(sa.select(DeviceCredential)))
    assert not any(password in stored for password in passwords.values())
    assert set(parse_acl(files.acl_file.read_text()).rules) == {*DEVICES, HUB_USERNAME}


def test_running_again_keeps_passwords_and_rotating_one_device_changes_only_its_own(
    db: Database, tmp_path: Path
) -> None:
    files = BrokerFiles(tmp_path)
    run(db, files)
    before = logins(files)
    hub_password = files.hub_password_file.read_text()
    assert run(db, files) == {}
    assert logins(files) == before
    rotated = run(db, files, rotate={"dev-b"})
    assert set(rotated) == {"dev-b"}
    after = logins(files)
    assert after["dev-b"] != before["dev-b"] and after["dev-b"] == rotated["dev-b"]
    assert {k: v for k, v in after.items() if k != "dev-b"} == {k: v for k, v in before.items() if k != "dev-b"}
    hashes = parse_password_file(files.password_file.read_text())
    assert verify_password(after["dev-b"], hashes["dev-b"]) and not verify_password(before["dev-b"], hashes["dev-b"])
    assert files.hub_password_file.read_text() == hub_password
    with pytest.raises(NotFound):
        run(db, files, rotate={"not-in-building"})


def test_a_revoked_device_stays_out_until_it_is_provisioned_again_by_name(db: Database, tmp_path: Path) -> None:
    files = BrokerFiles(tmp_path)
    run(db, files)
    with db.sessions.begin() as session:
        revoke(session, "dev-a", actor="test", now=NOW)
        write_broker_files(session, files, site_id="hq", new_passwords={})
    for text in (files.password_file.read_text(), files.acl_file.read_text(), files.credentials_file.read_text()):
        assert "dev-a" not in text
    run(db, files)
    assert "dev-a" not in files.password_file.read_text()
    run(db, files, rotate={"dev-a"})
    assert "dev-a" in parse_password_file(files.password_file.read_text())
    with db.sessions.begin() as session, pytest.raises(NotFound):
        revoke(session, "nobody", actor="test", now=NOW)
    with db.sessions() as session:
        actions = session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == "dev-a")).all()
    assert actions == ["mqtt_account.created", "mqtt_account.revoked", "mqtt_account.rotated"]


def test_a_device_that_left_the_building_loses_its_account(db: Database, tmp_path: Path) -> None:
    files = BrokerFiles(tmp_path)
    run(db, files)
    run(db, files, devices=["dev-a", "dev-b"])
    assert set(logins(files)) == {"dev-a", "dev-b"}
    assert "dev-c" not in parse_password_file(files.password_file.read_text())


def test_the_command_line_writes_the_files_and_prints_no_password(database: ScratchDatabase, tmp_path: Path) -> None:
    out = tmp_path / "mqtt"
    runner = CliRunner()
    result = runner.invoke(app, ["devices", "provision", "--database-url", database.url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    passwords = [*logins(BrokerFiles(out)).values(), BrokerFiles(out).hub_password_file.read_text().strip()]
    assert len(passwords) > 10
    revoked = runner.invoke(
        app, ["devices", "revoke", "reception-occ", "--database-url", database.url, "--out", str(out)]
    )
    assert revoked.exit_code == 0, revoked.output
    again = runner.invoke(
        app, ["devices", "revoke", "reception-occ", "--database-url", database.url, "--out", str(out)]
    )
    assert again.exit_code == 2 and "already revoked" in again.output
    for output in (result.output, revoked.output, again.output):
        assert not any(password in output for password in passwords)
