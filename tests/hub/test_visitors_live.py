"""Visitors in a running hub: people synced at start, a bad people file refused, a check-in reaching a webhook."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from devices.site import SAMPLE_BUILDING
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.services import visit_arrivals
from hub.services.demo_visits import seed_visits
from hub.services.visit_arrivals import Signature
from hub.settings import Settings
from hub.store.visit_models import Agreement, Person
from tests.helpers import wait_for
from tests.hub.conftest import StartHub
from tests.hub.visit_helpers import NOW, RULES, SECRET
from tests.hub.webhook_receiver import Receiver, free_port


def test_a_hub_with_a_bad_people_file_does_not_start(tmp_path: Path) -> None:
    people = tmp_path / "people.toml"
    people.write_text('[[person]]\nid = "Bad Id"\nname = "X"\nemail = "x@example.org"\nteam = "T"\n')
    with pytest.raises(ConfigError, match=r"people.toml, line 1: person.0.id"):
        Hub(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", people_file=people))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(free_port())
    yield running
    running.stop()


@pytest.mark.slow
def test_a_demo_invitation_checks_in_and_the_host_hears_by_webhook(
    start_hub: StartHub, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.start()
    hub = start_hub(building=str(SAMPLE_BUILDING), webhook_urls=[receiver.url], secret_key=SECRET.hex())
    assert hub.database is not None
    with hub.database.sessions.begin() as session:
        assert session.get_one(Person, "ann").name == "Ann Smith"
        assert seed_visits(session, now=NOW, qr_dir=tmp_path, settings=hub.settings) == 3
        nda = session.scalars(sa.select(Agreement)).one()
    pngs = sorted(tmp_path.glob("*-lee-visitor.png"))
    (token,) = [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(pngs[0]))]
    with hub.database.sessions.begin() as session:
        arrival = visit_arrivals.check_in(
            session, rules=RULES, token=token, kiosk_id="kiosk-1", signature=Signature(nda.hash, "Lee"),
            photo_jpeg=None, now=NOW,
        )  # fmt: skip
        assert arrival.admitted
    wait_for(lambda: any(body["kind"] == "visitor_arrived" for body in receiver.bodies), what="the host's webhook")
