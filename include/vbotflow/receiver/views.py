"""The receiver's HTTP endpoints (one blueprint): authenticate, keep the raw delivery, land or spool it."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from vbotflow.privacy.masking import mask_phone
from vbotflow.receiver import auth, store
from vbotflow.receiver.body import BodyRefused, read_body
from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.logmask import log_failure
from vbotflow.receiver.metrics import CONTENT_TYPE
from vbotflow.receiver.openapi import openapi_document
from vbotflow.receiver.parse import parse_delivery
from vbotflow.receiver.runtime import ReceiverRuntime
from vbotflow.receiver.signature import WebhookVerificationError

log = logging.getLogger("vbotflow.receiver")
bp = Blueprint("receiver", __name__)

_ERROR_NAMES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
                408: "timeout", 413: "too_large", 503: "unavailable"}
_REFUSED_REASONS = {400: "bad_framing", 408: "too_slow", 413: "too_large"}


def runtime() -> ReceiverRuntime:
    return current_app.extensions["vbotflow_receiver"]


def _json(answer: dict[str, Any]) -> Response:
    """``jsonify``'s exact bytes (sorted keys, compact, a newline) without its provider's layers."""
    return Response(json.dumps(answer, sort_keys=True, separators=(",", ":")) + "\n", mimetype="application/json")


def _error(status: int, detail: str) -> tuple[Response, int]:
    return jsonify(error=_ERROR_NAMES.get(status, "error"), detail=detail), status


@bp.app_errorhandler(HTTPException)
def _http_error(err: HTTPException) -> tuple[Response, int]:
    status = err.code or 500
    if status == 413:
        runtime().metrics.rejected.labels("too_large").inc()
        detail = f"body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes"
    else:
        detail = err.description or err.name
    return _error(status, detail)


def _receive(endpoint: str) -> tuple[Response, int]:
    started = time.perf_counter()
    rt = runtime()
    rt.ensure_drainer()
    rt.metrics.received_by.inc(endpoint)
    try:
        return _handle(rt, endpoint)
    finally:
        rt.metrics.latency.observe(time.perf_counter() - started)


def _handle(rt: ReceiverRuntime, endpoint: str) -> tuple[Response, int]:
    received_at = datetime.now(UTC)
    # A token is required unless only a signing secret is configured (then the signature alone proves it).
    token_required = bool(rt.tokens) or rt.signer is None
    if token_required and not auth.token_matches(auth.presented_token(request.headers, request.args), rt.tokens):
        rt.metrics.rejected.labels("unauthorized").inc()
        return _error(401, "missing or wrong webhook token")
    try:
        body = read_body(request.environ, current_app.config["MAX_CONTENT_LENGTH"], rt.read_deadlines,
                         rt.body_timeout)
    except BodyRefused as err:
        rt.metrics.rejected.labels(_REFUSED_REASONS[err.status]).inc()
        log.info("delivery refused, nothing stored: %s", err)
        return _error(err.status, str(err))
    if rt.signer is not None:
        try:
            rt.signer.verify(body, request.headers)
        except WebhookVerificationError as err:
            rt.metrics.rejected.labels("bad_signature").inc()
            return _error(401, f"bad webhook signature: {err}")

    # Everything about the delivery is captured before parsing; the parse result cannot stop it being kept.
    delivery = Delivery(received_at=received_at, endpoint=endpoint, body=body,
                        headers=auth.safe_headers(auth.environ_headers(request.environ)),
                        remote_addr=request.remote_addr)
    parsed = parse_delivery(body, endpoint)
    try:
        landed = store.land(rt.engine, delivery, parsed)
    except SQLAlchemyError as err:
        log.warning("database unavailable (%s); spooling the delivery", type(err).__name__)
        return _spool(rt, delivery, parsed.kind, parsed.parse_error)
    except Exception:  # noqa: BLE001 - a bug must not cost the delivery: keep it in the spool
        log_failure(log, "landing failed unexpectedly; spooling the delivery")
        return _spool(rt, delivery, parsed.kind, parsed.parse_error)

    rt.wake_drainer_if_spooled()  # the database answers again: replay what waited
    counter = rt.metrics.duplicates_by if landed.duplicate else rt.metrics.stored_by
    counter.inc("invalid" if landed.dead_letter else parsed.kind)
    if landed.dead_letter:
        # The fault is ours (the parser let through what the database refuses): the sender did its part.
        log.warning("the database refused the parsed %s columns of event %s: kept as a dead letter",
                    parsed.kind, landed.event_id)
    if parsed.kind == "invalid":
        rt.metrics.rejected.labels("invalid_body").inc()
        log.info("dead letter event %s (%s): %s", landed.event_id, endpoint, parsed.parse_error)
        return jsonify(error="invalid_body", detail=parsed.parse_error, stored=True, event_id=landed.event_id), 400
    if log.isEnabledFor(logging.DEBUG):  # one line per delivery is the database's job; phones masked anyway
        log.debug("%s event %s kind=%s campaign=%s phone=%s status=%s",
                  "duplicate" if landed.duplicate else "stored", landed.event_id, parsed.kind,
                  parsed.columns.get("vbot_campaign_id"), mask_phone(parsed.columns.get("phone")),
                  parsed.columns.get("status_code"))
    answer: dict[str, Any] = {"status": "duplicate" if landed.duplicate else "stored", "kind": parsed.kind,
                              "event_id": landed.event_id}
    if parsed.kind == "call_history":
        answer.update(records=len(parsed.records), records_new=landed.records_new)
    return _json(answer), 200


def _spool(rt: ReceiverRuntime, delivery: Delivery, kind: str, parse_error: str | None) -> tuple[Response, int]:
    try:
        rt.spool.append(delivery)
    except OSError:
        rt.metrics.spool_failures.inc()
        log_failure(log, "could not spool a delivery either; answering 503")
        return _error(503, "storage unavailable; please retry")
    rt.metrics.spooled.inc()
    rt.spooled_here()
    if kind == "invalid":
        rt.metrics.rejected.labels("invalid_body").inc()
        return jsonify(error="invalid_body", detail=parse_error, stored=True, spooled=True), 400
    return jsonify(status="spooled"), 202


@bp.post("/webhooks/vbot/autocall")
def autocall() -> tuple[Response, int]:
    return _receive("autocall")


@bp.post("/webhooks/vbot/call-history")
def call_history() -> tuple[Response, int]:
    return _receive("call_history")


@bp.post("/webhooks/vbot")
def any_kind() -> tuple[Response, int]:
    return _receive("auto")


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    rt = runtime()
    try:
        store.ping(rt.engine)
        database = "ok"
    except SQLAlchemyError:
        database = "unreachable"
    depth = rt.spool.depth()
    # 200 even when the database is away: the receiver still accepts (and spools) deliveries, and a
    # load balancer that dropped it would lose them instead. Degraded: the database does not answer,
    # or deliveries wait in the spool (a locked SQLite file still answers reads).
    status = "ok" if database == "ok" and depth == 0 else "degraded"
    return jsonify(status=status, database=database, spool_depth=depth), 200


@bp.get("/metrics")
def metrics() -> Response:
    rt = runtime()
    return Response(rt.metrics.render(rt.spool.depth()), content_type=CONTENT_TYPE)


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(json.dumps(openapi_document()), mimetype="application/json")
