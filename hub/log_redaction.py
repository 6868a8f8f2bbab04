"""Keep secrets out of the logs: API keys, bearer tokens and ``token=`` / ``k=`` query values are masked.

Panel pages carry their key in the URL (an EventSource cannot send headers), so any access log line
would hold it; the filter sits on the hub's log handler, which uvicorn's loggers also go through.
"""

import logging
import re

MASK = "[redacted]"
_PATTERNS = (
    re.compile(r"atrium_(?:kiosk|panel|integration)_[A-Za-z0-9_-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"([?&](?:token|k|password|access_token)=)[^&\s\"']+"),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: (match.group(1) if match.groups() else "") + MASK, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites each record's message with its secrets masked (it never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
