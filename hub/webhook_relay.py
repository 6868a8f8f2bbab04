"""POSTs webhook deliveries: each committed delivery is sent as JSON, retried with backoff, marked delivered."""

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from hub.relay_thread import RelayThread
from hub.services.webhooks import attach_webhooks, due, mark_attempt_failed, mark_delivered, wake_after_commit

log = logging.getLogger(__name__)


class WebhookRelay(RelayThread):
    """Sends due deliveries whenever woken (after a commit) or every ``poll_s``."""

    name = "webhook-relay"

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        timeout_s: float = 10.0,
        backoff: timedelta = timedelta(seconds=5),
        give_up_after: int = 12,
        poll_s: float = 1.0,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(poll_s=poll_s)
        self.sessions = sessions
        self.leading = leading
        self.backoff = backoff
        self.give_up_after = give_up_after
        self.delivered = 0
        self.failed_attempts = 0
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._client.close()

    def relay_round(self) -> None:
        self.send_due(self._client)

    def send_due(self, client: httpx.Client) -> int:
        """Try every due delivery once (only on the leading hub); returns how many were delivered."""
        if not self.leading():
            return 0
        with self.sessions() as session:
            rows = due(session, now=datetime.now(UTC))
            session.expunge_all()
        sent = 0
        for row in rows:
            if self.stopping:
                break
            error = self._post(client, row.url, row.payload)
            with self.sessions.begin() as session:
                now = datetime.now(UTC)
                if error is None:
                    mark_delivered(session, row.id, now=now)
                else:
                    mark_attempt_failed(
                        session, row, error=error, now=now, backoff=self.backoff, give_up_after=self.give_up_after
                    )
            if error is None:
                sent += 1
                self.delivered += 1
            else:
                self.failed_attempts += 1
                log.warning("webhook %s not delivered (attempt %d): %s", row.url, row.attempts + 1, error)
        return sent

    def _post(self, client: httpx.Client, url: str, payload: bytes) -> str | None:
        """None when the receiver took it (2xx), else why not."""
        try:
            response = client.post(url, content=payload, headers={"content-type": "application/json"})
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"


def start_webhooks(
    sessions: sessionmaker[Session], urls: Sequence[str], *, leading: Callable[[], bool] = lambda: True
) -> WebhookRelay:
    """Make notifications of these sessions go to ``urls`` too, and start the relay that POSTs them."""
    attach_webhooks(sessions, urls)
    relay = WebhookRelay(sessions=sessions, leading=leading)
    wake_after_commit(sessions, relay.wake)
    relay.start()
    return relay
