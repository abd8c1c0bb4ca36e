"""Standard Webhooks verification against the published test vector and its near misses."""

from __future__ import annotations

import pytest

from vbotflow.receiver.signature import Webhook, WebhookVerificationError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(**overrides: str) -> dict[str, str]:
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": SIGNATURE}
    headers.update({k.replace("_", "-"): v for k, v in overrides.items()})
    return headers


def test_sign_reproduces_the_published_vector() -> None:
    assert Webhook(SECRET).sign(MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_the_whsec_prefix_is_optional() -> None:
    assert Webhook(SECRET.removeprefix("whsec_")).sign(MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_verify_accepts_the_published_vector() -> None:
    Webhook(SECRET).verify(BODY, _headers(), now=TIMESTAMP)


def test_verify_accepts_any_of_several_signatures_during_rotation() -> None:
    Webhook(SECRET).verify(BODY, _headers(webhook_signature=f"v1,bm9wZQ== {SIGNATURE}"), now=TIMESTAMP + 10)


@pytest.mark.parametrize(
    ("body", "headers", "now", "message"),
    [
        (BODY + b" ", _headers(), TIMESTAMP, "no matching v1 signature"),
        (BODY, _headers(webhook_id="msg_other"), TIMESTAMP, "no matching v1 signature"),
        (BODY, _headers(webhook_signature="v2," + SIGNATURE[3:]), TIMESTAMP, "no matching v1 signature"),
        (BODY, _headers(webhook_signature=""), TIMESTAMP, "missing webhook-id"),
        (BODY, {"webhook-id": MSG_ID, "webhook-signature": SIGNATURE}, TIMESTAMP, "missing webhook-id"),
        (BODY, _headers(webhook_timestamp="soon"), TIMESTAMP, "not an integer"),
        (BODY, _headers(), TIMESTAMP + 301, "too old"),
        (BODY, _headers(), TIMESTAMP - 301, "too new"),
    ],
)
def test_verify_rejects(body: bytes, headers: dict[str, str], now: int, message: str) -> None:
    with pytest.raises(WebhookVerificationError, match=message):
        Webhook(SECRET).verify(body, headers, now=now)


def test_another_secret_does_not_verify() -> None:
    with pytest.raises(WebhookVerificationError, match="no matching"):
        Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUA==").verify(BODY, _headers(), now=TIMESTAMP)


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_", "whsec_a", "whsec_===="])
def test_a_malformed_secret_is_refused_at_once(secret: str) -> None:
    with pytest.raises(ValueError, match="signing secret must"):
        Webhook(secret)


# Known answers computed apart (Python's hmac and base64 on the raw key bytes), for keys whose base64
# needs one and two padding characters: the secret is accepted with its padding, or without.
_MSG = ("msg_2Lh9ZEq5yMCB2VTYtTHBcGa1", 1764144000, b'{"campaign_id": 2932, "status": 200}')


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ("whsec_dmJvdGZsb3ctc2lnbmluZy1rZXk=", "v1,hQMaIJfcIgMJ3dxMWPPBh2lyr5AY9Su8PySNvwqVc7k="),
        ("whsec_dmJvdGZsb3ctc2lnbmluZy1rZXk", "v1,hQMaIJfcIgMJ3dxMWPPBh2lyr5AY9Su8PySNvwqVc7k="),
        ("dmJvdGZsb3ctc2lnbmluZy1rZXk", "v1,hQMaIJfcIgMJ3dxMWPPBh2lyr5AY9Su8PySNvwqVc7k="),
        ("whsec_dmJvdGZsb3ctc2lnbmluZy1rZQ==", "v1,5cJssuRhlHRRhkt/decxM2OG3Q6ZZ6cu5M441rQpoKQ="),
        ("whsec_dmJvdGZsb3ctc2lnbmluZy1rZQ", "v1,5cJssuRhlHRRhkt/decxM2OG3Q6ZZ6cu5M441rQpoKQ="),
    ],
)
def test_a_secret_without_its_base64_padding_signs_and_verifies_as_with_it(secret: str, expected: str) -> None:
    msg_id, timestamp, body = _MSG
    webhook = Webhook(secret)
    assert webhook.sign(msg_id, timestamp, body) == expected
    webhook.verify(body, {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": expected},
                   now=timestamp)
