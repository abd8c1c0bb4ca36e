from __future__ import annotations

import logging

import pytest

from vbotflow.receiver.logmask import TokenMaskingFilter, log_failure, mask_token


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("POST /webhooks/vbot?token=s3cret HTTP/1.1", "POST /webhooks/vbot?token=*** HTTP/1.1"),
        ("POST /webhooks/vbot?a=1&token=s3cret&b=2 HTTP/1.1", "POST /webhooks/vbot?a=1&token=***&b=2 HTTP/1.1"),
        ("token=s3cret", "token=***"),
        ("POST /webhooks/vbot?TOKEN=s3cret HTTP/1.1", "POST /webhooks/vbot?TOKEN=*** HTTP/1.1"),
        ("POST /webhooks/vbot?mytoken=kept HTTP/1.1", "POST /webhooks/vbot?mytoken=kept HTTP/1.1"),
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
