"""The people directory: hosts visitors come to see, read from a TOML file at start and searched by the kiosk."""

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Self

import sqlalchemy as sa
from pydantic import Field, StringConstraints, ValidationError, model_validator
from sqlalchemy.orm import Session

from devices.base import AtriumModel
from devices.codec import describe_validation_error
from hub.errors import ConfigError, NotFound
from hub.store.visit_models import Person

_PERSON_TABLE = re.compile(r"^\s*\[\[\s*person\s*\]\]")

PersonId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]


class PersonSpec(AtriumModel):
    """One ``[[person]]`` of the directory."""

    id: PersonId
    name: Text
    email: Email
    team: Text


class Directory(AtriumModel):
    """The whole people file."""

    person: list[PersonSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Self:
        seen: set[str] = set()
        for spec in self.person:
            if spec.id in seen:
                raise ValueError(f"person id {spec.id!r} is used twice")
            seen.add(spec.id)
        return self


def load_people(path: Path) -> list[PersonSpec]:
    """Read and check a people file; a ConfigError names the file, the line and field, and the reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read people file {path}: {error.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        return list(Directory.model_validate(document).person)
    except ValidationError as error:
        raise ConfigError(f"{path}{_where(error, text)}: {describe_validation_error(error)}") from None


def _where(error: ValidationError, text: str) -> str:
    """', line N' of the ``[[person]]`` the first error is in, when there is one."""
    loc = error.errors(include_url=False)[0]["loc"]
    if len(loc) < 2 or loc[0] != "person" or not isinstance(loc[1], int):
        return ""
    starts = [number for number, line in enumerate(text.splitlines(), start=1) if _PERSON_TABLE.match(line)]
    return f", line {starts[loc[1]]}" if loc[1] < len(starts) else ""


def sync_people(session: Session, people: Sequence[PersonSpec]) -> None:
    """Make the ``people`` table match the directory; people gone from it stay, inactive, for past visits."""
    listed = {spec.id for spec in people}
    for spec in people:
        session.merge(Person(id=spec.id, name=spec.name, email=spec.email.lower(), team=spec.team, active=True))
    session.execute(sa.update(Person).where(Person.id.not_in(listed)).values(active=False))


def search_people(session: Session, *, q: str = "", limit: int = 20) -> Sequence[Person]:
    """Active people whose name or email contains ``q`` (case-insensitive), by name."""
    query = sa.select(Person).where(Person.active).order_by(Person.name, Person.id).limit(limit)
    words = q.strip().lower()
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(sa.func.lower(Person.name).like(pattern, escape="\\"), Person.email.like(pattern, escape="\\"))
        )
    return session.scalars(query).all()


def get_person(session: Session, person_id: str) -> Person:
    """An active person of the directory, or NotFound."""
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise NotFound(f"there is no host {person_id!r} in the people directory")
    return person
