"""Who may post: shared tokens (header, bearer or query string), compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator, Mapping

TOKEN_HEADER = "X-Webhook-Token"  # noqa: S105 - a header name, not a secret
TOKEN_QUERY_PARAM = "token"  # noqa: S105 - a parameter name, not a secret
# Never stored with a delivery: they carry credentials.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", TOKEN_HEADER.lower()})


def parse_tokens(value: str | None) -> tuple[str, ...]:
    """``VBOTFLOW_WEBHOOK_TOKEN``: one or more tokens, comma-separated (old and new during a rotation)."""
    return tuple(token.strip() for token in (value or "").split(",") if token.strip())


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token the sender presented: ``X-Webhook-Token``, ``Authorization: Bearer``, or ``?token=``."""
    token = headers.get(TOKEN_HEADER)
    if token:
        return token
    scheme, _, credentials = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return query.get(TOKEN_QUERY_PARAM) or None


def token_matches(presented: str | None, tokens: Iterable[str]) -> bool:
    """True when ``presented`` equals one of ``tokens``; every token is compared, in constant time."""
    if not presented:
        return False
    candidate = presented.encode()
    matched = False
    for token in tokens:
        # No early exit: the time taken must not reveal which token (or how much of it) matched.
        matched |= hmac.compare_digest(candidate, token.encode())
    return matched


def environ_headers(environ: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    """The request headers of a WSGI environ, as Werkzeug's ``EnvironHeaders`` gives them, names lower-cased."""
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                yield key[5:].replace("_", "-").lower(), value  # type: ignore[misc]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key.replace("_", "-").lower(), value  # type: ignore[misc]


def safe_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The request headers worth keeping with a delivery, without credentials (names lower-cased)."""
    kept: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in SECRET_HEADERS:
            continue
        kept[key] = f"{kept[key]}, {value}" if key in kept else value
    return kept
