"""Schemathesis against the live receiver: no 5xx, and every answer fits ``/openapi.json``.

Bounded (``MAX_EXAMPLES`` per operation) so the run stays in seconds. The token is sent with every
case so generated bodies reach parsing and storage, not only the 401 gate (tested apart).
The cases are drawn with hypothesis directly: schemathesis' pytest fixture loader does not run
under pytest 9.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.receiver_support import TOKEN, events, werkzeug_server
from vbotflow.receiver.openapi import openapi_document

MAX_EXAMPLES = 60
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
OPERATIONS = [f"{method.upper()} {path}" for path, item in openapi_document()["paths"].items() for method in item]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_receiver_keeps_its_openapi_promises(db_url: str, tmp_path: Path, operation: str) -> None:
    config = {"DB_URL": db_url, "WEBHOOK_TOKENS": (TOKEN,), "SPOOL_DIR": str(tmp_path / "spool"),
              "SPOOL_RETRY_SECONDS": 0}
    statuses: set[int] = set()
    with werkzeug_server(config) as url:
        schema = schemathesis.openapi.from_url(url + "/openapi.json")
        strategy = schema.find_operation_by_label(operation).as_strategy()

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def call(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers={"X-Webhook-Token": TOKEN}, checks=CHECKS)
            statuses.add(response.status_code)

        call()

    assert statuses and max(statuses) < 500
    assert not list((tmp_path / "spool").glob("*.json"))  # the database took every delivery
    if operation.startswith("POST"):
        assert events(db_url), "generated deliveries were stored (valid ones, or as dead letters)"
