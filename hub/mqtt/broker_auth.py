"""Mosquitto's password file and ACL file formats: provisioning writes them, both brokers enforce them.

The password file holds ``user:$7$<iterations>$<salt>$<hash>`` lines (PBKDF2-SHA512, as
``mosquitto_passwd`` writes); the ACL file holds ``user NAME`` blocks of ``topic read|write|readwrite
FILTER`` lines. The embedded broker reads the very same files (hub.mqtt.amqtt_plugins), so a site
moving from the embedded broker to Mosquitto keeps its accounts and rules.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

HUB_USERNAME = "_hub"
"""The hub's broker account; device ids never start with '_', so it cannot clash with a device."""
PBKDF2_ID = "7"
"""Mosquitto's identifier for PBKDF2-SHA512 hashes (mosquitto 2.0's default)."""
PBKDF2_ITERATIONS = 101
"""mosquitto_passwd's own default. Passwords are 256-bit random secrets, so a slow hash adds no safety,
while the broker pays the iterations again on every connect of thousands of devices."""
SALT_BYTES = 12


class PasswordFileError(ValueError):
    """A password or ACL file line that cannot be read, with its line number."""


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """A Mosquitto ``$7$`` hash of ``password``."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"${PBKDF2_ID}${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash; any other or malformed hash never matches."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != PBKDF2_ID or not parts[2].isdigit():
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except (binascii.Error, ValueError):
        return False
    iterations = int(parts[2])
    if not 1 <= iterations <= 10_000_000:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return hmac.compare_digest(digest, expected)


def render_password_file(hashes: Mapping[str, str]) -> str:
    """The password file for ``{username: hash}``, sorted so a rewrite without changes is identical."""
    return "".join(f"{username}:{hashed}\n" for username, hashed in sorted(hashes.items()))


def parse_password_file(text: str) -> dict[str, str]:
    """``{username: hash}`` from a password file; blank lines and ``#`` comments are skipped."""
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        username, colon, hashed = line.partition(":")
        if not colon or not username or not hashed:
            raise PasswordFileError(f"line {number}: expected username:hash")
        users[username] = hashed
    return users


class Access(StrEnum):
    """What an ACL line allows on its topic filter."""

    READ = "read"
    WRITE = "write"
    READWRITE = "readwrite"

    @property
    def reads(self) -> bool:
        return self is not Access.WRITE

    @property
    def writes(self) -> bool:
        return self is not Access.READ


@dataclass(frozen=True, slots=True)
class AclRule:
    """One ``topic ACCESS FILTER`` line."""

    access: Access
    topic: str


SHARE_PREFIX = "$share/"


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether a concrete ``topic`` falls under ``topic_filter`` (MQTT ``+`` and ``#`` wildcards)."""
    wanted = topic_filter.split("/")
    given = topic.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(given) or (level != "+" and level != given[index]):
            return False
    return len(wanted) == len(given)


def filter_within(allowed: str, requested: str) -> bool:
    """Whether every topic a subscription to ``requested`` can match also matches ``allowed``."""
    if requested.startswith(SHARE_PREFIX):
        _, _, requested = requested.removeprefix(SHARE_PREFIX).partition("/")
    wanted = allowed.split("/")
    given = requested.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(given) or given[index] == "#":
            return False
        if level != "+" and level != given[index]:
            return False
    return len(wanted) == len(given)


@dataclass
class Acl:
    """Per-user topic rules; a user with no rules, or an unknown user, may do nothing."""

    rules: dict[str, list[AclRule]] = field(default_factory=dict)

    def may_publish(self, username: str | None, topic: str) -> bool:
        return any(rule.access.writes and topic_matches(rule.topic, topic) for rule in self._for(username))

    def may_receive(self, username: str | None, topic: str) -> bool:
        return any(rule.access.reads and topic_matches(rule.topic, topic) for rule in self._for(username))

    def may_subscribe(self, username: str | None, topic_filter: str) -> bool:
        return any(rule.access.reads and filter_within(rule.topic, topic_filter) for rule in self._for(username))

    def _for(self, username: str | None) -> list[AclRule]:
        return self.rules.get(username, []) if username is not None else []


def render_acl(rules: Mapping[str, Iterable[AclRule]], *, header: str = "") -> str:
    """The ACL file for ``{username: rules}``, users sorted."""
    blocks = [header] if header else []
    for username in sorted(rules):
        lines = [f"user {username}"] + [f"topic {rule.access.value} {rule.topic}" for rule in rules[username]]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def parse_acl(text: str) -> Acl:
    """The rules of an ACL file (``user`` blocks of ``topic`` lines); ``pattern`` lines are not supported."""
    acl = Acl()
    current: list[AclRule] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split(maxsplit=2)
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "user" and len(words) == 2:
            current = acl.rules.setdefault(words[1], [])
        elif words[0] == "topic" and current is not None:
            if len(words) == 2:
                current.append(AclRule(Access.READWRITE, words[1]))
                continue
            try:
                current.append(AclRule(Access(words[1]), words[2].strip()))
            except ValueError:
                raise PasswordFileError(f"line {number}: access must be read, write or readwrite") from None
        else:
            raise PasswordFileError(f"line {number}: expected 'user NAME' or 'topic [read|write|readwrite] FILTER'")
    return acl
