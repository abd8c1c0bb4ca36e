"""The integration DB as the console sees it: one engine per URL, kept across requests."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine() -> Engine:
    """An engine for the ``vbotflow_db`` connection (else ``VBOTFLOW_DB_URL``), read again on every call.

    The connection is looked up each time so that an edit in Admin → Connections takes effect; the
    engine (and its pool) is reused as long as the URL stays the same.
    """
    from vbot_provider.connections import integration_db_url
    from vbotflow.store.db import make_engine

    url = integration_db_url()
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]
