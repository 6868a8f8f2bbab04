"""The building file: the shipped sample, the errors a bad file gets, and synthetic fleets."""

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from devices.kinds import DeviceKind
from devices.site import SAMPLE_BUILDING, Building, SiteConfigError, load_building, synthetic_building
from devices.topics import is_valid_device_id

MINIMAL = """\
[site]
id = "hq"
name = "HQ"

[[floors]]
id = "ground"
name = "Ground floor"

[[floors.rooms]]
id = "atlas"
name = "Atlas"
capacity = 8

[[floors.rooms.devices]]
id = "atlas-occ"
kind = "occupancy"

[[floors.rooms.devices]]
id = "atlas-env"
kind = "environment"
"""


@pytest.fixture(scope="module")
def sample() -> Building:
    return load_building(SAMPLE_BUILDING)


def test_sample_building_has_its_floors_and_rooms(sample: Building) -> None:
    assert len(sample.floors) == 4
    assert len(list(sample.rooms())) == 25


def test_sample_building_has_about_150_devices_and_none_is_lost(sample: Building) -> None:
    document = tomllib.loads(SAMPLE_BUILDING.read_text(encoding="utf-8"))
    in_file = sum(len(room.get("devices", [])) for floor in document["floors"] for room in floor["rooms"])

    assert sample.device_count() == in_file
    assert 140 <= sample.device_count() <= 160


def test_sample_building_has_every_device_kind(sample: Building) -> None:
    assert {device.kind for _, _, device in sample.devices()} == set(DeviceKind)


def test_sample_building_ids_are_unique_and_usable_in_topics(sample: Building) -> None:
    device_ids = [device.id for _, _, device in sample.devices()]
    room_ids = [room.id for _, room in sample.rooms()]

    assert len(device_ids) == len(set(device_ids))
    assert len(room_ids) == len(set(room_ids))
    assert all(is_valid_device_id(i) for i in device_ids)
    assert is_valid_device_id(sample.site.id)


def test_sample_building_bookable_rooms_hold_people(sample: Building) -> None:
    bookable = [room for _, room in sample.rooms() if room.bookable]

    assert bookable
    assert all(room.capacity > 0 for room in bookable)


def test_load_building_accepts_a_path_given_as_text(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(MINIMAL, encoding="utf-8")

    building = load_building(str(path))

    assert building.site.id == "hq"
    assert [device.id for _, _, device in building.devices()] == ["atlas-occ", "atlas-env"]


def load_error(tmp_path: Path, text: str) -> str:
    """The message load_building gives for a file holding ``text``; checks it is one sentence."""
    path = tmp_path / "my-site.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteConfigError) as caught:
        load_building(path)
    message = str(caught.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def edited(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new, 1)


def test_minimal_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(MINIMAL, encoding="utf-8")

    assert load_building(path).device_count() == 2


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"

    with pytest.raises(SiteConfigError) as caught:
        load_building(path)

    assert str(path) in str(caught.value)
    assert "cannot read building file" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_toml_names_the_file_and_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, edited("capacity = 8", "capacity = "))

    assert "not valid TOML" in message
    assert "line 12" in message


@pytest.mark.parametrize(
    ("old", "new", "location"),
    [
        ("capacity = 8", "capcity = 8", "floors.0.rooms.0.capcity"),
        ('kind = "occupancy"', 'kind = "occupancy"\nfirmwear = "1.0"', "floors.0.rooms.0.devices.0.firmwear"),
        ('name = "HQ"', 'name = "HQ"\ntimezon = "UTC"', "site.timezon"),
        # A typo that happens to equal a payload tag must still be named in full.
        ("capacity = 8", "print = true", "floors.0.rooms.0.print"),
    ],
)
def test_unknown_key_is_refused_with_its_path(tmp_path: Path, old: str, new: str, location: str) -> None:
    message = load_error(tmp_path, edited(old, new))

    assert f"{location}: Extra inputs are not permitted" in message


def test_duplicate_device_id_is_named(tmp_path: Path) -> None:
    message = load_error(tmp_path, edited('id = "atlas-env"', 'id = "atlas-occ"'))

    assert "device id 'atlas-occ' is used twice" in message


def test_duplicate_room_id_is_named(tmp_path: Path) -> None:
    text = MINIMAL + '\n[[floors.rooms]]\nid = "atlas"\nname = "Atlas again"\n'

    message = load_error(tmp_path, text)

    assert "room id 'atlas' is used twice" in message


def test_bad_device_kind_is_named(tmp_path: Path) -> None:
    message = load_error(tmp_path, edited('kind = "environment"', 'kind = "toaster"'))

    assert "floors.0.rooms.0.devices.1.kind: " in message
    assert "'environment'" in message


def test_negative_capacity_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, edited("capacity = 8", "capacity = -1"))

    assert "floors.0.rooms.0.capacity: " in message
    assert "greater than or equal to 0" in message


@pytest.mark.parametrize(
    ("old", "new", "location"),
    [
        ('id = "atlas-occ"', 'id = "Atlas_Occ"', "floors.0.rooms.0.devices.0.id"),
        ('id = "hq"', 'id = "_hub"', "site.id"),
        ('name = "Atlas"', 'name = ""', "floors.0.rooms.0.name"),
    ],
)
def test_bad_identifiers_and_names_are_refused(tmp_path: Path, old: str, new: str, location: str) -> None:
    message = load_error(tmp_path, edited(old, new))

    assert f"{location}: " in message


def test_a_building_needs_a_floor(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[site]\nid = "hq"\nname = "HQ"\nfloors = []\n')

    assert "floors: " in message


@pytest.mark.parametrize("devices", [1, 4, 5, 6, 99, 100, 101, 251, 1000])
def test_synthetic_building_has_exactly_the_devices_asked_for(devices: int) -> None:
    building = synthetic_building(devices)

    ids = [device.id for _, _, device in building.devices()]
    assert building.device_count() == devices
    assert len(ids) == len(set(ids)) == devices
    assert all(is_valid_device_id(i) for i in ids)


@pytest.mark.parametrize("devices", [100, 250, 1000])
def test_synthetic_building_from_100_devices_has_badge_printers_and_every_kind(devices: int) -> None:
    kinds = Counter(device.kind for _, _, device in synthetic_building(devices).devices())

    assert kinds[DeviceKind.BADGE_PRINTER] >= devices // 100
    assert set(kinds) == set(DeviceKind)


def test_synthetic_building_respects_rooms_per_floor() -> None:
    building = synthetic_building(500, rooms_per_floor=7)

    assert all(0 < len(floor.rooms) <= 7 for floor in building.floors)
    assert building.device_count() == 500
    assert building.site.id == "fleet"


@pytest.mark.parametrize("devices", [0, -1])
def test_synthetic_building_needs_a_device(devices: int) -> None:
    with pytest.raises(SiteConfigError, match="at least one device"):
        synthetic_building(devices)


def test_a_rooms_own_occupancy_rules_are_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        SAMPLE_BUILDING.read_text().replace(
            'id = "atlas"\n', 'id = "atlas"\noccupancy = { release_after_min = 20, extend_by_min = 0 }\n', 1
        )
    )
    atlas = next(room for _, room in load_building(good).rooms() if room.id == "atlas")
    assert atlas.occupancy is not None and atlas.occupancy.release_after_min == 20
    bad = tmp_path / "bad.toml"
    bad.write_text(
        SAMPLE_BUILDING.read_text().replace(
            'id = "atlas"\n', 'id = "atlas"\noccupancy = { release_after_min = 0 }\n', 1
        )
    )
    with pytest.raises(SiteConfigError, match="release_after_min"):
        load_building(bad)
