from __future__ import annotations

import base64
import binascii
import logging
import sys
from urllib.parse import unquote

import pytest

from vbotflow.receiver.logmask import SecretRedactor, TokenMaskingFilter, log_failure, mask_token


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("POST /webhooks/vbot?token=s3cret HTTP/1.1", "POST /webhooks/vbot?token=*** HTTP/1.1"),
        ("POST /webhooks/vbot?a=1&token=s3cret&b=2 HTTP/1.1", "POST /webhooks/vbot?a=1&token=***&b=2 HTTP/1.1"),
        ("token=s3cret", "token=***"),
        ("POST /webhooks/vbot?TOKEN=s3cret HTTP/1.1", "POST /webhooks/vbot?TOKEN=*** HTTP/1.1"),
        ("POST /webhooks/vbot?mytoken=kept HTTP/1.1", "POST /webhooks/vbot?mytoken=kept HTTP/1.1"),
        ("POST /webhooks/vbot?to%6Ben=s3cret HTTP/1.1", "POST /webhooks/vbot?to%6Ben=*** HTTP/1.1"),
        ("POST /webhooks/vbot?x=1&%74oken=s3cret HTTP/1.1", "POST /webhooks/vbot?x=1&%74oken=*** HTTP/1.1"),
    ],
)
def test_mask_token(line: str, masked: str) -> None:
    assert mask_token(line) == masked


def test_the_filter_masks_the_formatted_message(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.logmask")
    logger.addFilter(TokenMaskingFilter())
    with caplog.at_level(logging.INFO, logger="test.logmask"):
        logger.info('%s - - "%s" %s', "127.0.0.1", "POST /webhooks/vbot?token=s3cret HTTP/1.1", 200)
    assert caplog.messages == ['127.0.0.1 - - "POST /webhooks/vbot?token=*** HTTP/1.1" 200']
    assert "s3cret" not in caplog.text


def test_a_logged_failure_keeps_its_traceback_but_masks_phones_and_tokens(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.logmask.failure")
    with caplog.at_level(logging.ERROR, logger="test.logmask.failure"):
        try:
            raise ValueError("Failing row contains (0912345678, POST /x?token=s3cret)")
        except ValueError:
            log_failure(logger, "landing %s failed", "event")
    assert "landing event failed" in caplog.text
    assert "Traceback (most recent call last)" in caplog.text
    assert "09******78" in caplog.text and "token=***" in caplog.text
    assert "0912345678" not in caplog.text and "s3cret" not in caplog.text


SECRET = "tok-current-9f2c"


@pytest.mark.parametrize(
    "line",
    [
        f"POST /webhooks/{SECRET} HTTP/1.1",
        "POST /webhooks/vbot?to%6Ben=" + SECRET + " HTTP/1.1",
        "POST /webhooks/%74ok-current-9f2c HTTP/1.1",
        "POST /webhooks/vbot?x=%2574ok-current-9f2c HTTP/1.1",  # encoded twice
        f"Invalid HTTP method: '{SECRET}'",
        f"Invalid request line: 'POST /x?token={SECRET}&name=Nguyá»\\x85n HTTP/1.1'",
    ]
    + [f"Authorization: Basic {encode((prefix + SECRET + suffix).encode()).decode()}"
       for prefix in ("", "u", "us", "user:") for suffix in ("", ":", "xy")
       for encode in (base64.b64encode, base64.urlsafe_b64encode)],
)
def test_the_redactor_removes_a_secret_in_any_form(line: str) -> None:
    redacted = SecretRedactor([SECRET]).redact(line)
    assert SECRET not in redacted and SECRET not in unquote(unquote(redacted))
    assert not any(SECRET.encode() in _b64(word) for word in redacted.split())


def _b64(word: str) -> bytes:
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            return decode(word + "=" * (-len(word) % 4))
        except (binascii.Error, ValueError):
            continue
    return b""


def test_the_redactor_leaves_other_lines_alone_and_covers_tracebacks() -> None:
    redactor = SecretRedactor([SECRET])
    line = '127.0.0.1 - - [28/Nov/2026:11:58:18 +0000] "POST /webhooks/vbot/autocall HTTP/1.1" 200 51 "-" "curl/8"'
    assert redactor.redact(line) == line
    try:
        raise ValueError(f"boom {SECRET}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "", 0, "failed for %s", (SECRET,), sys.exc_info())
    assert redactor.filter(record)
    text = logging.Formatter().format(record)
    assert "failed for ***" in text and "Traceback" in text and SECRET not in text
