from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers

from vbotflow.receiver.auth import parse_tokens, presented_token, safe_headers, token_matches


def test_tokens_are_comma_separated_and_trimmed() -> None:
    assert parse_tokens(" new , old ,,") == ("new", "old")
    assert parse_tokens(None) == ()


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"X-Webhook-Token": "h"}, {"token": "q"}, "h"),
        ({"Authorization": "Bearer  b "}, {}, "b"),
        ({"authorization": "bearer b"}, {}, "b"),
        ({"Authorization": "Basic dXNlcg=="}, {"token": "q"}, "q"),
        ({"Authorization": "Bearer "}, {}, None),
        ({}, {"token": ""}, None),
        ({}, {}, None),
    ],
)
def test_the_presented_token_comes_from_header_bearer_or_query(headers, query, expected) -> None:
    assert presented_token(Headers(headers), query) == expected


@pytest.mark.parametrize(
    ("presented", "expected"),
    [("new", True), ("old", True), ("ne", False), ("newer", False), ("", False), (None, False), ("NEW", False)],
)
def test_a_token_matches_only_exactly(presented, expected) -> None:
    assert token_matches(presented, ("new", "old")) is expected


def test_no_configured_token_matches_nothing() -> None:
    assert token_matches("anything", ()) is False


def test_credentials_never_stay_in_the_kept_headers() -> None:
    kept = safe_headers([("X-Webhook-Token", "s"), ("Authorization", "Bearer s"), ("Cookie", "c=s"),
                         ("Content-Type", "application/json"), ("X-Forwarded-For", "1.1.1.1"),
                         ("x-forwarded-for", "2.2.2.2")])
    assert kept == {"content-type": "application/json", "x-forwarded-for": "1.1.1.1, 2.2.2.2"}
