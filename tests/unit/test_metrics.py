from __future__ import annotations

from vbotflow.receiver.metrics import ReceiverMetrics


def test_each_family_is_exposed_with_its_labels_and_the_spool_depth() -> None:
    metrics = ReceiverMetrics()
    metrics.received.labels("autocall").inc()
    metrics.received.labels("autocall").inc()
    metrics.rejected.labels('quo"te').inc()
    metrics.replayed.inc(3)
    text = metrics.render(spool_depth=7).decode()
    for family in ("received_total", "stored_total", "duplicates_total", "rejected_total", "spooled_total",
                   "spool_replayed_total", "spool_failures_total", "request_seconds", "spool_depth"):
        assert f"# TYPE vbotflow_webhook_{family.removesuffix('_total')}" in text
    lines = text.splitlines()
    assert 'vbotflow_webhook_received_total{endpoint="autocall"} 2.0' in lines
    assert 'vbotflow_webhook_rejected_total{reason="quo\\"te"} 1.0' in lines
    assert "vbotflow_webhook_spool_replayed_total 3.0" in lines
    assert "vbotflow_webhook_spooled_total 0.0" in lines  # unlabelled counters exist from the start
    assert "vbotflow_webhook_spool_depth 7.0" in lines
    assert not any("_created" in line for line in lines)


def test_the_histogram_is_cumulative() -> None:
    metrics = ReceiverMetrics()
    for seconds in (0.0005, 0.05, 0.05, 30.0):
        metrics.latency.observe(seconds)
    lines = metrics.render(spool_depth=0).decode().splitlines()
    assert 'vbotflow_webhook_request_seconds_bucket{le="0.001"} 1.0' in lines
    assert 'vbotflow_webhook_request_seconds_bucket{le="0.05"} 3.0' in lines
    assert 'vbotflow_webhook_request_seconds_bucket{le="+Inf"} 4.0' in lines
    assert "vbotflow_webhook_request_seconds_count 4.0" in lines
