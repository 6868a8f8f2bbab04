"""The site's secret: the key that signs QR invitations, report links and the API's access tokens.

Rotating it (``ATRIUM_SECRET_KEY``, or a new ``var/secret.key``) voids every invitation, label link and
signed-in session at once; API keys are stored hashed and do not depend on it.
"""

import secrets
from pathlib import Path

from hub.settings import Settings

SECRET_FILE = Path("var/secret.key")


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
