"""The ``atrium`` command as an operator meets it: clear sentences for bad configuration, the demo end to end."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from devices.site import SAMPLE_BUILDING, load_building
from hub.cli import app
from hub.mqtt.embedded_broker import free_port
from hub.store.booking_models import Booking
from hub.store.db import create_engine
from hub.store.models import DeviceMessage
from tests.helpers import wait_for

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["--building", "/nonexistent/site.toml"], "cannot read building file /nonexistent/site.toml"),
        (["--mqtt-url", "http://example"], "must start with mqtt:// or mqtts://"),
        (["--mqtt-url", "mqtt://127.0.0.1:1"], "cannot reach the MQTT broker at mqtt://127.0.0.1:1"),
        (["--database-url", "postgresql+psycopg://127.0.0.1:1/nothing"], "cannot reach the database"),
        (["--database-url", "not a url"], "is not a valid SQLAlchemy URL"),
    ],
)
def test_bad_configuration_stops_the_hub_with_one_clear_sentence(
    args: list[str], sentence: str, tmp_path: Path
) -> None:
    defaults = {"--database-url": f"sqlite:///{tmp_path / 'a.db'}", "--mqtt-url": "mqtt://127.0.0.1:1"}
    for option, value in defaults.items():
        if option not in args:
            args = [*args, option, value]
    result = runner.invoke(app, ["hub", "--no-api", *args])
    assert result.exit_code == 2
    assert sentence in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_building_file_with_a_typo_names_the_file_and_the_field(tmp_path: Path) -> None:
    building = tmp_path / "site.toml"
    building.write_text(SAMPLE_BUILDING.read_text().replace("capacity = 8", "capacty = 8", 1))
    result = runner.invoke(app, ["hub", "--no-api", "--building", str(building), "--mqtt-url", "mqtt://127.0.0.1:1"])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert str(building) in output
    assert "capacty" in output


def test_devices_schema_writes_one_schema_per_channel(tmp_path: Path) -> None:
    result = runner.invoke(app, ["devices", "schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["command.schema.json", "event.schema.json", "state.schema.json", "telemetry.schema.json"]
    assert json.loads((tmp_path / "telemetry.schema.json").read_text())["title"]


@pytest.mark.slow
def test_the_demo_brings_up_the_sample_building_and_leaves_telemetry_for_every_device(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'demo.db'}"
    port = free_port()
    env = {**os.environ, "ATRIUM_EMBEDDED_MQTT_PORT": str(free_port()), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "hub", "demo", "--duration", "20", "--port", str(port)]
    command += ["--database-url", database_url, "--interval", "2"]
    with (tmp_path / "demo.log").open("wb") as log:
        demo = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            health = wait_for(lambda: _get(f"http://127.0.0.1:{port}/health"), timeout=30, what="the demo's API")
            assert health["status"] == "ok"
            password = wait_for(lambda: _admin_password(tmp_path / "demo.log"), what="the demo admin's password")
            signed_in = httpx.post(
                f"http://127.0.0.1:{port}/auth/token", data={"username": "admin", "password": password}, timeout=10
            )
            assert signed_in.status_code == 200, signed_in.text
            token = signed_in.json()["access_token"]
            wait_for(
                lambda: len(_get(f"http://127.0.0.1:{port}/devices?online=true", token) or []) > 100,
                timeout=30,
                what="the simulated devices online",
            )
            assert demo.wait(60) == 0, (tmp_path / "demo.log").read_text()
        finally:
            demo.kill()
    expected = {device.id for _, _, device in load_building(SAMPLE_BUILDING).devices()}
    engine = create_engine(database_url)
    with engine.connect() as connection:
        reporting = set(
            connection.scalars(
                sa.select(DeviceMessage.device_id).where(DeviceMessage.channel == "telemetry").distinct()
            )
        )
        seeded = connection.scalar(sa.select(sa.func.count()).select_from(Booking))
    engine.dispose()
    assert reporting == expected
    assert seeded, "the demo seeds today's bookings for its panels"
    assert "/panel/atlas?token=" in (tmp_path / "demo.log").read_text()
    assert (tmp_path / "var" / "kiosk.key").read_text().strip().startswith("atrium_kiosk_")


def _admin_password(log: Path) -> str | None:
    """The password the demo prints for the admin it makes on its first run."""
    found = re.search(r"sign in\s+admin / ([\w-]+)", log.read_text())
    return found.group(1) if found else None


def _get(url: str, token: str | None = None) -> Any:
    try:
        response = httpx.get(url, timeout=2, headers={"Authorization": f"Bearer {token}"} if token else {})
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None
