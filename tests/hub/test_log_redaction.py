"""Secrets in log lines: panel keys in URLs, bearer tokens, are masked before any handler writes them."""

import logging

from hub.log_redaction import RedactSecrets


def test_secrets_are_masked_in_log_lines() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/panel/atlas/events?token=atrium_panel_SECRETSECRET&x=1", "1.1", 200), None,
    )  # fmt: skip
    RedactSecrets().filter(record)
    line = record.getMessage()
    assert "SECRETSECRET" not in line and "/panel/atlas/events?token=[redacted]&x=1" in line
    header = logging.LogRecord("x", logging.INFO, __file__, 1, "sent Authorization: Bearer eyJabc.def", None, None)
    RedactSecrets().filter(header)
    assert header.getMessage() == "sent Authorization: Bearer [redacted]"
