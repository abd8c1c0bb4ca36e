"""The second baseline of the receiver benchmark: a minimal hand-written landing.

What one would write in an afternoon to keep VBot's deliveries: read the body, one autocommit
``INSERT INTO landing (body) VALUES (%s::jsonb)`` through psycopg on a connection per thread,
answer 200. No token check, no dedupe, no typed columns, no spool, no metrics. Served by gunicorn
with the receiver's own config file, so the difference measured is what the receiver's guarantees
cost. The table (one jsonb column, no index) is created by ``receiver_bench.py``.
"""

from __future__ import annotations

import os
import threading

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
_local = threading.local()
_DSN = os.environ.get("VBOTFLOW_DB_URL", "").replace("postgresql+psycopg://", "postgresql://")


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(_DSN, autocommit=True)
    return conn


@app.post("/webhooks/vbot/autocall")
def autocall():  # noqa: ANN201 - a benchmark stub
    _connection().execute("INSERT INTO landing (body) VALUES (%s::jsonb)", (request.get_data(as_text=True),))
    return jsonify(status="stored"), 200


@app.get("/healthz")
def healthz():  # noqa: ANN201
    return jsonify(status="ok")
