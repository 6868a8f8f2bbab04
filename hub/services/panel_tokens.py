"""Room-scoped panel tokens: a wall tablet's key acts on its own room and nothing else.

A token is an HMAC of the room id under the site's secret, so it needs no table; rotating the
secret (``ATRIUM_SECRET_KEY``) revokes every panel at once. Per-panel revocation comes with API roles.
"""

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from hub.errors import Forbidden
from hub.settings import Settings

_CONTEXT = b"atrium-panel:"
SECRET_FILE = Path("var/secret.key")


def panel_token(secret: bytes, room_id: str) -> str:
    """The token a room's panel presents."""
    digest = hmac.new(secret, _CONTEXT + room_id.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def check_panel_token(secret: bytes, room_id: str, token: str | None) -> None:
    """Refuse a missing token, or one made for another room."""
    if not token:
        raise Forbidden("this panel has no token; open the URL given by 'atrium rooms panel-url'")
    if not hmac.compare_digest(token, panel_token(secret, room_id)):
        raise Forbidden(f"this token is not the panel token of room {room_id!r}")


def load_or_create_secret(path: Path) -> bytes:
    """The site secret kept in ``path``, made on first use (readable by its owner only)."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    path.write_text(secret.hex() + "\n")
    path.chmod(0o600)
    return secret


def site_secret(settings: Settings) -> bytes:
    """The site's secret: ``ATRIUM_SECRET_KEY`` (hex), or a key file made on first use."""
    if settings.secret_key:
        return bytes.fromhex(settings.secret_key)
    return load_or_create_secret(SECRET_FILE)
