"""Each simulated device's own broker login, from the credentials file ``atrium devices provision`` writes."""

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path

from devices.transport import BrokerEndpoint


class CredentialsError(ValueError):
    """A credentials file that cannot be used; the message names the file and the reason."""


def load_credentials(path: Path) -> dict[str, str]:
    """``{device id: password}`` from a JSON credentials file."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CredentialsError(f"cannot read the credentials file {path}: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise CredentialsError(f"the credentials file {path} is not a JSON object of device id to password")
    return data


def device_endpoint(endpoint: BrokerEndpoint, device_id: str, credentials: Mapping[str, str] | None) -> BrokerEndpoint:
    """The endpoint a device logs in with: its own id and password when it has one, else the shared one."""
    if credentials is None or device_id not in credentials:
        return endpoint
    return dataclasses.replace(endpoint, username=device_id, password=credentials[device_id])
