"""The kiosk driven by Textual's Pilot against a real hub: QR and walk-in check-in, agreements, badges printed by
simulated printers over a real broker, the host told, check-out by badge, failover, refusals, a hub gone down and a
kiosk whose key was revoked."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Label, OptionList, Select, Static

from firmware_sim.faults import Fault
from hub.api.app import create_app
from hub.services import api_keys
from hub.store.auth_models import KeyKind
from hub.store.visit_models import AgreementSignature, VisitPhoto
from kiosk.app import KioskApp
from kiosk.hub_client import KIOSK_DENIED
from kiosk.widgets.banner import Banner
from tests.access import issue_key
from tests.helpers import wait_for
from tests.kiosk.conftest import (
    CONTRACTOR_AGREEMENT,
    ServedApi,
    Site,
    on_screen,
    qr_camera,
    screen_text,
    type_text,
    until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
SIZE = (110, 60)
P1, P2 = "reception-printer-1", "reception-printer-2"


def kiosk(
    site: Site,
    tmp_path: Path,
    camera: str | None = None,
    *,
    hub_url: str | None = None,
    api_key: str | None = None,
    ask_photo: bool = False,
    rollcall_refresh_s: float = 0,
) -> KioskApp:
    """A kiosk at ``site`` (or at ``hub_url``) with the site's kiosk key, unless given another."""
    return KioskApp(
        hub_url=hub_url or site.url,
        api_key=api_key or site.kiosk_key,
        camera=camera,
        rollcall_cache=tmp_path / "rollcall.json",
        rollcall_refresh_s=rollcall_refresh_s,
        badge_poll_s=0.2,
        frame_interval_s=0.02,
        hub_timeout_s=5,
        ask_photo=ask_photo,
    )


def stored(site: Site, model: type[Any], visit_id: int) -> list[Any]:
    """Rows of ``model`` the hub keeps for a visit."""
    assert site.hub.database is not None
    with site.hub.database.sessions() as session:
        rows = session.scalars(sa.select(model).where(model.visit_id == visit_id)).all()
        session.expunge_all()
        return list(rows)


def badge_text(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one("#badge", Static).content)


async def fill(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Focus a field (as a tap would) and type into it."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = ""
    await type_text(pilot, text)


async def tap(pilot: Pilot[Any], selector: str) -> None:
    """Press a button by focusing it and pressing Enter (it may be below the fold of a small test screen)."""
    pilot.app.screen.query_one(selector, Button).focus()
    await pilot.press("enter")


async def choose_host(pilot: Pilot[Any], query: str, name: str) -> None:
    """Search for the host and pick them with Enter once the search shows them alone (earlier, shorter
    searches may still be showing others while the visitor types)."""
    await fill(pilot, "#host-search", query)
    options = pilot.app.screen.query_one("#host-options", OptionList)

    def only_them() -> bool:
        return options.display and options.option_count == 1 and name in str(options.get_option_at_index(0).prompt)

    await until(pilot, only_them, f"{name} found")
    await pilot.press("enter")
    await until(
        pilot, lambda: name in str(pilot.app.screen.query_one("#host-chosen", Label).content), "the host chosen"
    )


async def scan_and_confirm(pilot: Pilot[Any]) -> None:
    await pilot.click("#qr")
    await until(pilot, lambda: pilot.app.screen.query("#confirm"), "the visitor's name to confirm")
    await pilot.click("#confirm")


async def check_out_with_badge(site: Site, tmp_path: Path, visit_id: int) -> None:
    """Hold the printed badge up to the kiosk's camera at Check out."""
    folder = tmp_path / "badge"
    folder.mkdir()
    (folder / "badge.png").write_bytes(site.badge_png(visit_id))
    async with kiosk(site, tmp_path, str(folder)).run_test(size=SIZE) as pilot:
        await pilot.click("#check-out")
        await until(pilot, lambda: "You are checked out" in screen_text(pilot), "the goodbye")
        await pilot.click("#finish")
        await until(pilot, on_screen(pilot, "attract"), "back at the start")


async def test_a_guest_with_an_invitation_signs_the_agreement_and_gets_a_badge(site: Site, tmp_path: Path) -> None:
    token = site.invite("Grace Hopper", visitor_type="contractor", company="Navy")
    async with kiosk(site, tmp_path, qr_camera(tmp_path / "camera", token)).run_test(size=SIZE) as pilot:
        await pilot.click("#qr")
        await until(pilot, lambda: pilot.app.screen.query("#confirm"), "the visitor's name to confirm")
        assert "Welcome, Grace Hopper from Navy.\nYou are visiting Ann Smith." in screen_text(pilot)
        await pilot.click("#confirm")
        await until(pilot, on_screen(pilot, "agreement"), "the agreement")
        assert CONTRACTOR_AGREEMENT["text"] in screen_text(pilot)
        await type_text(pilot, "Grace")
        await pilot.press("enter")
        error = pilot.app.screen.query_one("#error-signed-name", Label)
        assert "type your name exactly as shown: Grace Hopper" in str(error.content)
        await fill(pilot, "#signed-name", "grace  hopper")
        await pilot.press("enter")
        await until(pilot, on_screen(pilot, "done"), "the done screen")
        assert "Grace Hopper. Ann Smith knows you are here." in screen_text(pilot)
        await until(pilot, lambda: "ready at Reception printer 1" in badge_text(pilot), "the badge printed")
    visit = site.visit_named("Grace Hopper")
    assert visit["status"] == "checked_in"
    [signature] = stored(site, AgreementSignature, visit["id"])
    assert signature.signed_name == "grace hopper"
    assert site.printer(P1).printed[-1].zpl.count("Grace Hopper") >= 1
    arrived = wait_for(lambda: site.notifications.of_kind("visitor_arrived"), what="the host told")
    assert any(n["to"] == "ann@example.com" and n["subject"] == "Grace Hopper has arrived" for n in arrived)


async def test_a_walk_in_checks_in_gets_a_badge_and_checks_out_with_it(site: Site, tmp_path: Path) -> None:
    async with kiosk(site, tmp_path).run_test(size=SIZE) as pilot:
        await pilot.click("#walk-in")
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form")
        await type_text(pilot, "Alan Turing")
        await fill(pilot, "#company", "Bletchley Park")
        await choose_host(pilot, "jones", "Bob Jones")
        assert "Visiting: Bob Jones (Engineering)" in str(pilot.app.screen.query_one("#host-chosen", Label).content)
        await fill(pilot, "#purpose", "Interview")
        await tap(pilot, "#continue")
        await until(pilot, on_screen(pilot, "done"), "the done screen")
        await until(pilot, lambda: "Your badge is ready at Reception" in badge_text(pilot), "the badge printed")
        await tap(pilot, "#finish")
        await until(pilot, on_screen(pilot, "attract"), "back at the start")
    visit = site.visit_named("Alan Turing")
    assert (visit["status"], visit["company"], visit["host"]["id"]) == ("checked_in", "Bletchley Park", "bob")
    assert wait_for(
        lambda: [n for n in site.notifications.of_kind("visitor_arrived") if n["to"] == "bob@example.com"],
        what="Bob told",
    )
    await check_out_with_badge(site, tmp_path, visit["id"])
    assert site.visit(visit["id"])["status"] == "checked_out"


async def test_the_hubs_objection_to_a_field_is_shown_beside_it(site: Site, tmp_path: Path) -> None:
    async with kiosk(site, tmp_path).run_test(size=SIZE) as pilot:
        await pilot.click("#walk-in")
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form")
        await type_text(pilot, "Hedy Lamarr")
        await fill(pilot, "#visitor_email", "hedy at home")
        await choose_host(pilot, "ann s", "Ann Smith")
        await fill(pilot, "#purpose", "Demo")
        await tap(pilot, "#continue")

        def error() -> str:
            return str(pilot.app.screen.query_one("#error-visitor_email", Label).content)

        await until(pilot, lambda: pilot.app.screen.id == "walk-in" and error(), "the email's error beside it")
        assert error() == "Please enter an email address like name@example.com."
        assert pilot.app.screen.query_one("#visitor_name", Input).value == "Hedy Lamarr"  # nothing typed is lost
        assert pilot.app.screen.query_one("#error-visitor_name", Label).content == ""


async def test_a_forged_invitation_is_refused_in_plain_words_and_the_walk_in_offered(
    site: Site, tmp_path: Path
) -> None:
    token = site.invite("Mallory Forge")
    body = token.removeprefix("ATR1.")
    middle = len(body) // 2
    forged = "ATR1." + body[:middle] + ("A" if body[middle] != "A" else "B") + body[middle + 1 :]
    async with kiosk(site, tmp_path, qr_camera(tmp_path / "camera", forged)).run_test(size=SIZE) as pilot:
        await pilot.click("#qr")
        await until(pilot, lambda: pilot.app.screen.query("#walk-in"), "the refusal")
        text = screen_text(pilot)
        assert "could not be verified" in text or "not an invitation from this office" in text
        assert "Mallory" not in text
        await pilot.click("#walk-in")
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form")
    assert site.visit_named("Mallory Forge")["status"] == "invited"


async def test_an_invitation_already_used_is_refused(site: Site, tmp_path: Path) -> None:
    token = site.invite("Katherine Johnson")
    camera = qr_camera(tmp_path / "camera", token)
    async with kiosk(site, tmp_path, camera).run_test(size=SIZE) as pilot:
        await scan_and_confirm(pilot)
        await until(pilot, on_screen(pilot, "done"), "the done screen")
        await tap(pilot, "#finish")
        await until(pilot, on_screen(pilot, "attract"), "back at the start")
        await pilot.click("#qr")
        await until(pilot, lambda: pilot.app.screen.query("#walk-in"), "the refusal")
        assert "already been used" in screen_text(pilot)


async def test_a_jammed_printer_hands_the_badge_to_the_other_and_the_visitor_is_told_where(
    site: Site, tmp_path: Path
) -> None:
    token = site.invite("Dorothy Vaughan")
    site.fleet.call(site.printer(P1).faults.add, Fault.JAM)  # found out only when it tries to print
    try:
        async with kiosk(site, tmp_path, qr_camera(tmp_path / "camera", token)).run_test(size=SIZE) as pilot:
            await scan_and_confirm(pilot)
            await until(pilot, on_screen(pilot, "done"), "the done screen")
            await until(pilot, lambda: "Reception printer 2" in badge_text(pilot), "the badge at the other printer")
            await until(pilot, lambda: "ready" in badge_text(pilot), "the badge printed")
        assert site.printer(P2).printed[-1].zpl.count("Dorothy Vaughan") >= 1
        assert wait_for(lambda: site.notifications.of_kind("badge_printer_failed"), what="reception told")
    finally:
        site.fleet.clear(P1, Fault.JAM)
        wait_for(lambda: not site.printer_faulted(P1), what="the hub seeing printer 1 mended")


async def test_a_visitor_on_the_block_list_is_held_for_reception(site: Site, tmp_path: Path) -> None:
    entry = site.http.post("/blocklist", json={"company": "Umbrella Corp", "reason": "test"}).json()
    try:
        token = site.invite("Albert Wesker", company="Umbrella Corp")
        async with kiosk(site, tmp_path, qr_camera(tmp_path / "camera", token)).run_test(size=SIZE) as pilot:
            await scan_and_confirm(pilot)
            await until(pilot, on_screen(pilot, "done"), "the done screen")
            assert "reception will be with you" in screen_text(pilot)
    finally:
        site.http.delete(f"/blocklist/{entry['id']}")


async def test_with_the_hub_down_the_kiosk_says_so_and_still_shows_the_roll_call(
    site: Site, tmp_path: Path, served: Callable[[Any], ServedApi]
) -> None:
    walk_in = {"visitor_name": "Mary Jackson", "host_id": "ann", "purpose": "Wind tunnel", "kiosk_id": "desk"}
    assert site.http.post("/visits/walk-ins", json=walk_in).status_code == 201
    api = served(create_app(site.hub.settings, hub=site.hub))  # an API of its own, to take down
    token = site.invite("Christine Darden")
    app = kiosk(site, tmp_path, qr_camera(tmp_path / "camera", token), hub_url=api.url, rollcall_refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        kept = tmp_path / "rollcall.json"
        await until(pilot, kept.exists, "the kiosk keeping the roll call on its own, before anyone asks")
        api.stop()
        await pilot.click("#roll-call")  # the first look at the roll call is after the hub went down
        banner = pilot.app.screen.query_one(Banner)
        await until(pilot, lambda: banner.display, "the hub-unreachable banner")
        assert "Hub unreachable: showing the list kept at" in str(banner.content)
        visitors = pilot.app.screen.query_one("#visitors", DataTable)
        assert "Mary Jackson" in {str(visitors.get_row_at(row)[0]) for row in range(visitors.row_count)}
        await pilot.press("escape")
        await until(pilot, on_screen(pilot, "attract"), "back at the start")
        await pilot.click("#qr")
        await until(pilot, lambda: "cannot reach the office system" in screen_text(pilot), "the hub-down message")


async def test_a_kiosk_whose_key_was_revoked_sends_visitors_to_reception(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = site.hub.database
    assert database is not None
    key = issue_key(database, KeyKind.KIOSK, name="lobby kiosk")
    with database.sessions.begin() as session:
        found = api_keys.find_active_key(session, key)
        assert found is not None
        api_keys.revoke_key(session, found.id, actor="test", now=datetime.now(UTC))
    token = site.invite("Annie Easley")
    caplog.set_level(logging.ERROR, logger="kiosk.hub_client")
    async with kiosk(site, tmp_path, qr_camera(tmp_path / "camera", token), api_key=key).run_test(size=SIZE) as pilot:
        await pilot.click("#qr")
        await until(pilot, lambda: KIOSK_DENIED in screen_text(pilot), "the refused-kiosk message")
        assert not pilot.app.screen.query("#walk-in")  # no way in works without a key: only reception helps
        await pilot.press("escape")
        await until(pilot, on_screen(pilot, "attract"), "back at the start")
        await pilot.click("#walk-in")
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form")
        await fill(pilot, "#host-search", "ann s")
        error = pilot.app.screen.query_one("#error-host_id", Label)
        await until(pilot, lambda: str(error.content) == KIOSK_DENIED, "the refusal beside the host search")
    assert site.visit_named("Annie Easley")["status"] == "invited"
    assert any("unknown or revoked" in record.getMessage() for record in caplog.records)


async def test_roll_call_from_the_hub_has_no_banner(site: Site, tmp_path: Path) -> None:
    walk_in = {"visitor_name": "Ada Yonath", "host_id": "bob", "purpose": "Crystals", "kiosk_id": "desk"}
    assert site.http.post("/visits/walk-ins", json=walk_in).status_code == 201
    async with kiosk(site, tmp_path).run_test(size=SIZE) as pilot:
        await pilot.click("#roll-call")
        visitors = pilot.app.screen.query_one("#visitors", DataTable)
        await until(pilot, lambda: visitors.row_count, "the roll call")
        assert "Ada Yonath" in {str(visitors.get_row_at(row)[0]) for row in range(visitors.row_count)}
        assert not pilot.app.screen.query_one(Banner).display
        assert "Atrium HQ" in screen_text(pilot)


async def test_back_from_the_agreement_keeps_the_form_and_a_photo_goes_with_the_walk_in(
    site: Site, tmp_path: Path
) -> None:
    camera = qr_camera(tmp_path / "camera", "a face, not a code")
    async with kiosk(site, tmp_path, camera, ask_photo=True).run_test(size=SIZE) as pilot:
        await pilot.click("#walk-in")
        await until(pilot, on_screen(pilot, "walk-in"), "the walk-in form")
        await type_text(pilot, "Margaret Hamilton")
        await choose_host(pilot, "ann s", "Ann Smith")
        await fill(pilot, "#purpose", "Fix the lift")
        pilot.app.screen.query_one("#visitor_type", Select).value = "contractor"
        await tap(pilot, "#continue")
        await until(pilot, on_screen(pilot, "agreement"), "the contractor's agreement")
        await pilot.press("escape")
        await until(pilot, on_screen(pilot, "walk-in"), "the form again")
        assert pilot.app.screen.query_one("#purpose", Input).value == "Fix the lift"
        assert "Ann Smith" in str(pilot.app.screen.query_one("#host-chosen", Label).content)
        await tap(pilot, "#continue")
        await until(pilot, on_screen(pilot, "agreement"), "the agreement again")
        await type_text(pilot, "Margaret Hamilton")
        await pilot.press("enter")
        await until(pilot, on_screen(pilot, "photo"), "the photo screen")
        await pilot.click("#take")
        await until(pilot, lambda: pilot.app.screen.query("#use"), "the photo taken")
        await pilot.click("#use")
        await until(pilot, on_screen(pilot, "done"), "the done screen")
    visit = site.visit_named("Margaret Hamilton")
    assert (visit["status"], visit["visitor_type"]) == ("checked_in", "contractor")
    [photo] = stored(site, VisitPhoto, visit["id"])
    assert photo.jpeg.startswith(b"\xff\xd8\xff")
    assert len(stored(site, AgreementSignature, visit["id"])) == 1
