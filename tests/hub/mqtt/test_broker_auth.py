"""Mosquitto's password and ACL formats, as both brokers read them."""

import shutil
import subprocess
from pathlib import Path

import pytest

from hub.mqtt.broker_auth import (
    Access,
    AclRule,
    hash_password,
    parse_acl,
    parse_password_file,
    render_acl,
    render_password_file,
    verify_password,
)
from hub.provisioning import device_rules, hub_rules


def test_a_hash_verifies_its_password_and_no_other() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$7$101$")
    assert verify_password("correct horse", hashed)
    assert not verify_password("correct horsf", hashed)
    assert not verify_password("", hashed)
    for broken in ("", "$6$salt$hash", "$7$x$a$b", "$7$101$!!!$???", hashed[:-8]):
        assert not verify_password("correct horse", broken)


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd not installed")
def test_hashes_written_by_mosquitto_passwd_verify(tmp_path: Path) -> None:
    password_file = tmp_path / "passwd"
    password_file.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(password_file), "dev-1", "s3cret:with$signs"], check=True)
    users = parse_password_file(password_file.read_text())
    assert verify_password("s3cret:with$signs", users["dev-1"])
    assert not verify_password("s3cret", users["dev-1"])


def test_the_password_file_reads_back_what_was_written() -> None:
    hashes = {"b": hash_password("x"), "a": hash_password("y")}
    text = render_password_file(hashes)
    assert text.splitlines()[0].startswith("a:$7$")
    assert parse_password_file("# comment\n\n" + text) == hashes


def test_a_device_may_publish_only_its_own_channels_and_read_only_its_own_commands() -> None:
    acl = parse_acl(render_acl({"dev-1": device_rules("hq", "dev-1"), "dev-2": device_rules("hq", "dev-2")}))
    for channel in ("telemetry", "event", "state", "availability"):
        assert acl.may_publish("dev-1", f"atrium/v1/hq/dev-1/{channel}")
        assert not acl.may_publish("dev-1", f"atrium/v1/hq/dev-2/{channel}")
    assert not acl.may_publish("dev-1", "atrium/v1/hq/dev-1/command")
    assert not acl.may_publish("dev-1", "atrium/v1/hq/_hub/availability")
    assert acl.may_subscribe("dev-1", "atrium/v1/hq/dev-1/command")
    assert acl.may_receive("dev-1", "atrium/v1/hq/dev-1/command")
    for stolen in ("atrium/v1/hq/dev-2/command", "atrium/v1/hq/+/command", "atrium/v1/hq/#", "#"):
        assert not acl.may_subscribe("dev-1", stolen)
    assert not acl.may_receive("dev-1", "atrium/v1/hq/dev-2/command")
    assert not acl.may_publish("stranger", "atrium/v1/hq/dev-1/telemetry")
    assert not acl.may_publish(None, "atrium/v1/hq/dev-1/telemetry")


def test_the_hub_reads_the_device_tree_also_through_shared_subscriptions_and_writes_commands() -> None:
    acl = parse_acl(render_acl({"_hub": hub_rules("hq")}))
    assert acl.may_subscribe("_hub", "atrium/v1/hq/+/telemetry")
    assert acl.may_subscribe("_hub", "$share/workers/atrium/v1/hq/+/availability")
    assert acl.may_receive("_hub", "atrium/v1/hq/dev-1/event")
    assert not acl.may_subscribe("_hub", "atrium/v1/hq/+/command")
    assert not acl.may_subscribe("_hub", "atrium/v1/#")
    assert acl.may_publish("_hub", "atrium/v1/hq/dev-1/command")
    assert acl.may_publish("_hub", "atrium/v1/hq/_hub/availability")
    assert acl.may_publish("_hub", "atrium/v1/hq/_hub/notifications")
    assert not acl.may_publish("_hub", "atrium/v1/hq/dev-1/telemetry")
    assert not acl.may_publish("_hub", "atrium/v1/other-site/dev-1/command")


def test_acl_lines_without_access_mean_readwrite_and_bad_lines_are_refused_with_their_number() -> None:
    acl = parse_acl("user a\ntopic x/#\n")
    assert acl.rules == {"a": [AclRule(Access.READWRITE, "x/#")]}
    with pytest.raises(ValueError, match="line 2"):
        parse_acl("user a\ntopic delete x\n")
    with pytest.raises(ValueError, match="line 1"):
        parse_acl("pattern read %u/#\n")
