"""``atrium kiosk``: the reception kiosk in this terminal, or served to a browser with ``--web``."""

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_HUB_URL = "http://127.0.0.1:8000"
DEFAULT_KEY_FILE = Path("var/kiosk.key")
KEY_VARIABLE = "ATRIUM_KIOSK_KEY"


def kiosk_command(
    camera: Annotated[
        str, typer.Option(help="Camera index (0, 1, ...), a video file, or a folder of images (e.g. sample QR codes)")
    ] = "0",
    hub_url: Annotated[str, typer.Option(help="The hub's API")] = DEFAULT_HUB_URL,
    kiosk_id: Annotated[str, typer.Option(help="This kiosk's name, recorded with each check-in")] = "reception-1",
    web: Annotated[bool, typer.Option("--web", help="Serve the kiosk to a browser instead of this terminal")] = False,
    web_host: Annotated[str, typer.Option(help="Address to serve on, with --web")] = "127.0.0.1",
    web_port: Annotated[int, typer.Option(help="Port to serve on, with --web")] = 8100,
    inactivity: Annotated[float, typer.Option(help="Seconds without a touch before the kiosk starts over")] = 60.0,
    photo: Annotated[bool, typer.Option("--photo/--no-photo", help="Offer to take a photo for the badge")] = False,
    rollcall_cache: Annotated[
        Path | None, typer.Option(help="File keeping the last roll call; default var/kiosk/<kiosk-id>-rollcall.json")
    ] = None,
    key_file: Annotated[
        Path,
        typer.Option(help=f"File holding this kiosk's API key (atrium keys create kiosk NAME); or set {KEY_VARIABLE}"),
    ] = DEFAULT_KEY_FILE,
) -> None:
    """Run the reception kiosk: QR check-in, walk-ins, check-out and roll call, talking to the hub."""
    if inactivity <= 0:
        raise typer.BadParameter("must be more than 0 seconds", param_hint="--inactivity")
    api_key = _api_key(key_file)
    if web:
        os.environ[KEY_VARIABLE] = api_key  # handed to each tab's kiosk process, never on its command line
        options = ["--camera", camera, "--hub-url", hub_url, "--kiosk-id", kiosk_id, "--inactivity", str(inactivity)]
        options += ["--photo" if photo else "--no-photo"]
        options += ["--rollcall-cache", str(rollcall_cache)] if rollcall_cache else []
        _serve(options, web_host=web_host, web_port=web_port)
        return
    _check_camera(camera)
    from kiosk.app import KioskApp

    KioskApp(
        hub_url=hub_url,
        camera=camera,
        kiosk_id=kiosk_id,
        inactivity_timeout_s=inactivity,
        ask_photo=photo,
        rollcall_cache=rollcall_cache,
        api_key=api_key,
    ).run()


def _api_key(key_file: Path) -> str:
    """The kiosk's key: ``ATRIUM_KIOSK_KEY``, else the key file; without one the hub would refuse every call."""
    key = os.environ.get(KEY_VARIABLE, "").strip()
    if not key and key_file.exists():
        key = key_file.read_text(encoding="utf-8").strip()
    if not key:
        raise typer.BadParameter(
            f"no kiosk key: set {KEY_VARIABLE} or make one: atrium keys create kiosk NAME --output {key_file}",
            param_hint="--key-file",
        )
    return key


def _check_camera(camera: str) -> None:
    """Say at once when the camera is missing; the kiosk still runs and offers walk-ins."""
    from kiosk.camera import CameraUnavailable, open_camera

    try:
        open_camera(camera).close()
    except CameraUnavailable as error:
        typer.echo(f"atrium kiosk: {error} The kiosk will offer walk-in check-in only.", err=True)


def _serve(options: list[str], *, web_host: str, web_port: int) -> None:
    """Run the kiosk with ``options`` under textual-serve: one kiosk app per browser tab."""
    from textual_serve.server import Server

    command = shlex.join([sys.executable, "-m", "kiosk.cli", *options])
    Server(command, host=web_host, port=web_port, title="Atrium reception").serve()


def main() -> None:
    typer.run(kiosk_command)


if __name__ == "__main__":
    main()
