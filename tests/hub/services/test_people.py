"""The people directory: the shipped sample loads, a bad file is refused with its line and field, search."""

from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.runtime import Database
from hub.services.demo_seed import ORGANISER
from hub.services.people import load_people, search_people, sync_people
from hub.settings import SAMPLE_PEOPLE
from tests.hub.visit_helpers import with_people


def test_the_sample_directory_has_the_demo_organiser() -> None:
    people = load_people(SAMPLE_PEOPLE)
    assert len(people) >= 12
    assert ORGANISER.email in {person.email for person in people}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[person]]\nid = "a"\nname = "A"\nemail = "a@x.org"\nteam = "T"\n\n[[person]]\nid = "b"\nname = "B"\n'
         'email = "not an email"\nteam = "T"\n', "line 7: person.1.email: String should match pattern"),
        ('[[person]]\nid = "a"\nname = "A"\nemail = "a@x.org"\n', "line 1: person.0.team: Field required"),
        ('[[person]]\nid = "a"\nname = "A"\nemail = "a@x.org"\nteam = "T"\nrole = "boss"\n',
         "person.0.role: Extra inputs are not permitted"),
        ('[[person]\n', "not valid TOML"),
        ('[[person]]\nid = "a"\nname = "A"\nemail = "a@x.org"\nteam = "T"\n' * 2, "person id 'a' is used twice"),
    ],
)  # fmt: skip
def test_a_bad_people_file_is_refused_with_where_and_why(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "people.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"people\.toml") as refused:
        load_people(path)
    assert message in str(refused.value)


def test_a_missing_people_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read people file"):
        load_people(tmp_path / "nowhere.toml")


def test_people_are_found_by_part_of_name_or_email_and_leavers_are_hidden(site_database: Database) -> None:
    with_people(site_database)
    with site_database.sessions() as session:
        assert [person.id for person in search_people(session, q="SMITH")] == ["ann"]
        assert [person.id for person in search_people(session, q="dev.patel@")] == ["dev"]
        assert len(search_people(session, q="", limit=5)) == 5
        assert search_people(session, q="%") == []
    with site_database.sessions.begin() as session:
        sync_people(session, [person for person in load_people(SAMPLE_PEOPLE) if person.id != "ann"])
    with site_database.sessions() as session:
        assert search_people(session, q="smith") == []
