"""The baseline of the receiver benchmark: a bare Flask handler that reads the body and answers 200.

Served by gunicorn with the receiver's own config file, so the difference measured is the work the
receiver does (auth, parse, one INSERT and commit), not the server setup.
"""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/webhooks/vbot/autocall")
def autocall():  # noqa: ANN201 - a benchmark stub
    request.get_data()
    return jsonify(status="stored", kind="autocall", event_id=0)


@app.get("/healthz")
def healthz():  # noqa: ANN201
    return jsonify(status="ok")
