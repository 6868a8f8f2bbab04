"""The topic tree: building and parsing topics, and what the hub subscribes to."""

import pytest

from devices.errors import InvalidMessage, RejectReason
from devices.topics import (
    DEVICE_CHANNELS,
    HUB_NODE,
    ROOT,
    Channel,
    Topic,
    device_topic,
    hub_availability_topic,
    is_hub_topic,
    is_valid_device_id,
    subscriptions,
)


def matches(topic_filter: str, topic: str) -> bool:
    """Whether an MQTT topic filter (with ``+`` and ``#``, no ``$share``) matches a topic."""
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels) or level not in ("+", topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)


def test_topic_follows_the_documented_tree() -> None:
    assert device_topic("hq", "atlas-env", Channel.TELEMETRY) == "atrium/v1/hq/atlas-env/telemetry"


@pytest.mark.parametrize("channel", list(Channel))
def test_build_then_parse_gives_back_the_same_topic(channel: Channel) -> None:
    text = device_topic("hq", "lobby-door-2", channel)

    parsed = Topic.parse(text)

    assert parsed == Topic("hq", "lobby-door-2", channel)
    assert str(parsed) == text
    assert text.startswith(f"{ROOT}/hq/lobby-door-2/")


def parse_error(topic: str) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as caught:
        Topic.parse(topic)
    assert caught.value.reason is RejectReason.BAD_TOPIC
    assert str(caught.value).startswith("bad_topic: ")
    return caught.value


@pytest.mark.parametrize(
    "topic",
    [
        "atrium/v2/hq/dev-1/telemetry",
        "home/v1/hq/dev-1/telemetry",
        "Atrium/v1/hq/dev-1/telemetry",
        "/atrium/v1/hq/dev-1",
    ],
)
def test_parse_refuses_a_topic_outside_the_root(topic: str) -> None:
    error = parse_error(topic)

    assert repr(topic) in error.detail
    assert f"{ROOT}/<site>/<device>/<channel>" in error.detail


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "atrium/v1",
        "atrium/v1/hq/dev-1",
        "atrium/v1/hq/dev-1/telemetry/extra",
        "atrium/v1/hq/dev-1/telemetry/",
    ],
)
def test_parse_refuses_the_wrong_number_of_levels(topic: str) -> None:
    error = parse_error(topic)

    assert repr(topic) in error.detail


@pytest.mark.parametrize("channel", ["config", "Telemetry", "telemetry ", "", "#"])
def test_parse_refuses_an_unknown_channel(channel: str) -> None:
    error = parse_error(f"atrium/v1/hq/dev-1/{channel}")

    assert "unknown channel" in error.detail
    assert repr(channel) in error.detail


@pytest.mark.parametrize(
    "device_id",
    ["", "Dev-1", "dev_1", "-dev", "dev 1", "dev.1", "+", "#", "dév", "dev-1\n", "a" * 65, HUB_NODE],
)
def test_parse_refuses_an_invalid_device_id(device_id: str) -> None:
    error = parse_error(f"atrium/v1/hq/{device_id}/telemetry")

    assert "device id" in error.detail
    assert repr(device_id) in error.detail


@pytest.mark.parametrize("site", ["", "HQ", "+", "h q", "hq\n"])
def test_parse_refuses_an_invalid_site_id(site: str) -> None:
    error = parse_error(f"atrium/v1/{site}/dev-1/telemetry")

    assert "site id" in error.detail
    assert repr(site) in error.detail


@pytest.mark.parametrize("device_id", ["a", "0", "dev-1", "room-12-env", "a" * 64, "9-lives-"])
def test_valid_device_ids_are_accepted(device_id: str) -> None:
    assert is_valid_device_id(device_id)
    assert Topic.parse(device_topic("hq", device_id, Channel.STATE)).device_id == device_id


@pytest.mark.parametrize("device_id", ["", "_hub", "_anything", "A", "a_b", "a" * 65, "ok\n"])
def test_invalid_device_ids_are_refused(device_id: str) -> None:
    assert not is_valid_device_id(device_id)


def test_subscriptions_cover_exactly_the_channels_devices_publish_on() -> None:
    filters = subscriptions("hq")

    assert len(filters) == len(set(filters))
    assert {Channel(f.rsplit("/", 1)[1]) for f in filters} == set(DEVICE_CHANNELS)
    assert Channel.COMMAND not in DEVICE_CHANNELS
    for channel in Channel:
        published = device_topic("hq", "dev-1", channel)
        hits = [f for f in filters if matches(f, published)]
        assert len(hits) == (0 if channel is Channel.COMMAND else 1), (channel, hits)


def test_subscriptions_stay_within_the_site() -> None:
    filters = subscriptions("hq")

    assert not any(matches(f, device_topic("other-site", "dev-1", Channel.TELEMETRY)) for f in filters)
    assert all(f.startswith(f"{ROOT}/hq/") for f in filters)


def test_shared_subscriptions_carry_the_group_prefix() -> None:
    plain = subscriptions("hq")

    shared = subscriptions("hq", shared_group="hubs")

    assert shared == [f"$share/hubs/{f}" for f in plain]


@pytest.mark.parametrize("group", [None, ""])
def test_no_group_means_plain_subscriptions(group: str | None) -> None:
    assert not any(f.startswith("$share") for f in subscriptions("hq", shared_group=group))


def test_hub_availability_topic_never_parses_as_a_device() -> None:
    topic = hub_availability_topic("hq")
    # The hub hears its own announcements on the availability filter, so parsing must refuse them.
    assert any(matches(f, topic) for f in subscriptions("hq"))

    error = parse_error(topic)

    assert HUB_NODE.startswith("_")
    assert repr(HUB_NODE) in error.detail


def test_hub_topics_are_told_apart_from_device_topics() -> None:
    assert is_hub_topic(hub_availability_topic("hq"))
    assert not any(is_hub_topic(device_topic("hq", "hub", channel)) for channel in Channel)
