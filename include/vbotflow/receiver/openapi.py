"""The receiver's OpenAPI 3.0 document, served at ``/openapi.json`` (schemathesis checks the app against it)."""

from __future__ import annotations

from typing import Any

from vbotflow import __version__


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ERROR = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "enum": ["bad_request", "unauthorized", "timeout", "too_large", "invalid_body",
                                             "not_found", "method_not_allowed", "unavailable"]},
        "detail": {"type": "string"},
    },
}

_LANDED = {
    "type": "object",
    "required": ["status", "kind", "event_id"],
    "properties": {
        "status": {"type": "string", "enum": ["stored", "duplicate"]},
        "kind": {"type": "string", "enum": ["autocall", "call_history"]},
        "event_id": {"type": "integer"},
        "records": {"type": "integer", "description": "call history: records in the delivery"},
        "records_new": {"type": "integer", "description": "call history: records not seen before"},
    },
}

_SPOOLED = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["spooled"]}},
}

_INVALID = {
    "type": "object",
    "required": ["error", "detail", "stored"],
    "properties": {
        "error": {"type": "string", "enum": ["invalid_body"]},
        "detail": {"type": "string", "description": "why the body does not fit VBot's contract"},
        "stored": {"type": "boolean", "description": "the body was kept (dead letter), in the DB or the spool"},
        "event_id": {"type": "integer"},
        "spooled": {"type": "boolean"},
    },
}

_AUTOCALL = {
    "type": "object",
    "description": "One auto-call attempt (vbot-api.md 2b). Other keys are kept as sent.",
    "required": ["campaign_id", "phone", "create_at", "status"],
    "properties": {
        "campaign_id": {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}]},
        "phone": {"type": "string"},
        "create_at": {"type": "string", "description": "MM/dd/yyyy HH:mm:ss or ISO 8601; no zone = UTC+7"},
        "status": {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}]},
        "hotline": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
        "time_call": {"type": "integer"}, "postage": {"type": "number"}, "service_charge": {"type": "number"},
        "action_log": {"type": "string"}, "event_data": {"type": "string"},
    },
}

_CALL_RECORD = {
    "type": "object",
    "properties": {
        "hotline_number": {"type": "string"}, "date_create": {"type": "string"}, "time_call": {"type": "string"},
        "type_call": {"type": "string"}, "caller": {"oneOf": [{"type": "string"}, {"type": "array"}]},
        "callee": {"oneOf": [{"type": "string"}, {"type": "array"}]}, "disposition": {"type": "string"},
        "record_file": {"type": "string"}, "postage": {"type": "string"}, "source": {"type": "string"},
    },
}

_CALL_HISTORY = {
    "type": "object",
    "description": "Call history (vbot-api.md 2a): one delivery may carry several records in data.",
    "required": ["data"],
    "properties": {
        "status": {"type": "string"}, "message": {"type": "string"}, "error": {"type": "integer"},
        "data": {"type": "array", "items": _ref("CallRecord")},
    },
}

_WEBHOOK_RESPONSES = {
    "200": _json(_ref("Landed"), "Stored, or already stored before (a duplicate: stored once)."),
    "202": _json(_ref("Spooled"), "The database is away: kept in the local spool, replayed later."),
    "400": _json({"anyOf": [_ref("Invalid"), _ref("Error")]},
                 "Malformed body: kept as a dead letter (kind 'invalid'), not processed (Invalid); or a body "
                 "whose framing is broken or cut short: nothing stored (Error, bad_request)."),
    "401": _json(_ref("Error"), "Missing or wrong token or signature: nothing stored."),
    "408": _json(_ref("Error"), "The body did not arrive in time: nothing stored, retry."),
    "413": _json(_ref("Error"), "Body over the size cap, however it is framed: nothing stored."),
    "503": _json(_ref("Error"), "Neither the database nor the spool could take it: nothing stored, retry."),
}

_SECURITY = [{"tokenHeader": []}, {"bearer": []}, {"tokenQuery": []}]


def _webhook(summary: str, schema: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return {"post": {
        "operationId": operation_id,
        "summary": summary,
        "security": _SECURITY,
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "responses": _WEBHOOK_RESPONSES,
    }}


def openapi_document() -> dict[str, Any]:
    """The whole document (OpenAPI 3.0.3)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "vbotflow webhook receiver",
            "version": __version__,
            "description": "Lands every VBot delivery exactly once in the integration database. "
                           "Optional Standard Webhooks signature headers (webhook-id, webhook-timestamp, "
                           "webhook-signature) are required when a signing secret is configured.",
        },
        "paths": {
            "/webhooks/vbot/autocall": _webhook("An auto-call result", _ref("AutoCall"), "receiveAutoCall"),
            "/webhooks/vbot/call-history": _webhook("A call-history delivery", _ref("CallHistory"),
                                                    "receiveCallHistory"),
            "/webhooks/vbot": _webhook("Either kind, recognised by its keys",
                                       {"oneOf": [_ref("AutoCall"), _ref("CallHistory")]}, "receiveAny"),
            "/healthz": {"get": {
                "operationId": "health",
                "summary": "Database reachable? Spool depth.",
                "responses": {"200": _json(_ref("Health"), "Up; 'degraded' while the database does not answer "
                                                            "or deliveries wait in the spool")},
            }},
            "/metrics": {"get": {
                "operationId": "metrics",
                "summary": "Prometheus text format, per worker process.",
                "responses": {"200": {"description": "metrics",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
        },
        "components": {
            "securitySchemes": {
                "tokenHeader": {"type": "apiKey", "in": "header", "name": "X-Webhook-Token"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "tokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            },
            "schemas": {
                "AutoCall": _AUTOCALL, "CallHistory": _CALL_HISTORY, "CallRecord": _CALL_RECORD,
                "Landed": _LANDED, "Spooled": _SPOOLED, "Invalid": _INVALID, "Error": _ERROR,
                "Health": {
                    "type": "object",
                    "required": ["status", "database", "spool_depth"],
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "degraded"]},
                        "database": {"type": "string", "enum": ["ok", "unreachable"]},
                        "spool_depth": {"type": "integer", "minimum": 0},
                    },
                },
            },
        },
    }
