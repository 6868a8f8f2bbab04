"""amqtt plugins that make the embedded broker enforce Mosquitto's password and ACL files.

amqtt 0.12's own FileAuthPlugin reads only Argon2 and sha512-crypt hashes and reads its file once,
and its TopicAccessControlListPlugin takes its rules from the broker config; these read the files
``atrium devices provision`` writes, follow them as they change, and, like Mosquitto on reload,
disconnect a connected client whose password no longer matches.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from hub.mqtt.broker_auth import Acl, PasswordFileError, parse_acl, parse_password_file, verify_password

log = logging.getLogger(__name__)


class _WatchedFile:
    """A file read again whenever its size or modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None

    def changed_text(self) -> str | None:
        """The file's text if it changed since the last call, else None; a missing file reads as empty."""
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, -1)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            return self.path.read_text()
        except FileNotFoundError:
            return ""


class PasswordFileAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """Logs clients in against a Mosquitto password file; nobody without a matching password gets in."""

    @dataclass
    class Config:
        password_file: str = ""
        extra_users: dict[str, str] = field(default_factory=dict)
        """``{username: $7$ hash}`` besides the file (the hub's in-process login), not written anywhere."""
        check_every_s: float = 1.0

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._file = _WatchedFile(Path(self.config.password_file))
        self._users: dict[str, str] = {}
        self._admitted: dict[str, Session] = {}
        """The sessions this plugin let in, by client id (amqtt keeps refused sessions around too)."""
        self._reload()
        self._watch = asyncio.get_running_loop().create_task(self._watch_file())

    async def authenticate(self, *, session: Session) -> bool | None:
        self._reload()
        hashed = self._hash_of(session.username)
        if hashed is None or not verify_password(session.password or "", hashed):
            log.info("embedded broker refused client %r (user %r)", session.client_id, session.username)
            self._admitted.pop(session.client_id, None)
            return False
        self._admitted[session.client_id] = session
        return True

    async def close(self) -> None:
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch

    def _hash_of(self, username: str | None) -> str | None:
        if username is None:
            return None
        return self.config.extra_users.get(username) or self._users.get(username)

    def _reload(self) -> bool:
        text = self._file.changed_text()
        if text is None:
            return False
        try:
            self._users = parse_password_file(text)
        except PasswordFileError as error:
            log.error("password file %s not loaded, every device is refused: %s", self._file.path, error)
            self._users = {}
        return True

    async def _watch_file(self) -> None:
        while True:
            await asyncio.sleep(self.config.check_every_s)
            if self._reload():
                await self._cut_off_refused()

    async def _cut_off_refused(self) -> None:
        """Disconnect connected clients whose password no longer matches (revoked or rotated)."""
        broker = self.context._broker_instance
        for client_id, (session, handler) in list(broker._sessions.items()):
            if session.transitions.state != "connected" or self._admitted.get(client_id) is not session:
                continue
            assert isinstance(session, Session)
            hashed = self._hash_of(session.username)
            if hashed is None or not verify_password(session.password or "", hashed):
                log.info("embedded broker disconnects %r: its account was revoked", session.client_id)
                self._admitted.pop(session.client_id, None)
                await handler.handle_connection_closed()


class AclFileTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]
    """Allows each publish, subscription and delivery only as a Mosquitto ACL file says."""

    @dataclass
    class Config:
        acl_file: str = ""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._file = _WatchedFile(Path(self.config.acl_file))
        self._acl = Acl()
        self._reload()

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool | None:
        self._reload()
        if session is None or not topic:
            return False
        username = session.username
        if action is Action.PUBLISH:
            allowed = self._acl.may_publish(username, topic)
        elif action is Action.SUBSCRIBE:
            allowed = self._acl.may_subscribe(username, topic)
        elif action is Action.RECEIVE:
            allowed = self._acl.may_receive(username, topic)
        else:
            allowed = False
        if not allowed and action is not Action.RECEIVE:
            log.info("embedded broker denied %s on %r to user %r", getattr(action, "value", action), topic, username)
        return allowed

    def _reload(self) -> None:
        text = self._file.changed_text()
        if text is None:
            return
        try:
            self._acl = parse_acl(text)
        except PasswordFileError as error:
            log.error("ACL file %s not loaded, every topic is denied: %s", self._file.path, error)
            self._acl = Acl()
