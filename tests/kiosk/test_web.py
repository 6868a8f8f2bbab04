"""``atrium kiosk --web`` serves the kiosk to a browser through textual-serve."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hub.mqtt.embedded_broker import free_port
from tests.helpers import wait_for

ATRIUM = Path(sys.executable).with_name("atrium")


def _page(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


@pytest.mark.slow
def test_the_kiosk_is_served_to_a_browser(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [str(ATRIUM), "kiosk", "--web", "--web-port", str(port), "--camera", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ATRIUM_KIOSK_KEY": "atrium_kiosk_for-the-page-only"},
    )
    try:
        page = wait_for(lambda: _page(f"http://127.0.0.1:{port}/"), timeout=30, what="the kiosk's web page")
        assert page is not None and page.status_code == 200
        assert "Atrium reception" in page.text
        assert "ws://" in page.text or "websocket" in page.text.lower(), "the page connects back for the app"
    finally:
        server.terminate()
        server.wait(10)
