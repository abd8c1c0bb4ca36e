from __future__ import annotations

from vbotflow.receiver.metrics import Counter, Histogram, ReceiverMetrics


def test_counters_render_per_label_and_unlabelled_ones_start_at_zero() -> None:
    counter = Counter("x_total", "X.", ("reason",))
    counter.inc("a")
    counter.inc("a")
    counter.inc('quo"te')
    assert list(counter.render()) == ["# HELP x_total X.", "# TYPE x_total counter", 'x_total{reason="a"} 2',
                                      'x_total{reason="quo\\"te"} 1']
    assert list(Counter("y_total", "Y.").render())[-1] == "y_total 0"


def test_the_histogram_is_cumulative() -> None:
    histogram = Histogram("t_seconds", "T.", buckets=(0.01, 0.1))
    for seconds in (0.005, 0.05, 0.05, 3.0):
        histogram.observe(seconds)
    lines = list(histogram.render())
    assert lines[2:] == ['t_seconds_bucket{le="0.01"} 1', 't_seconds_bucket{le="0.1"} 3',
                         't_seconds_bucket{le="+Inf"} 4', "t_seconds_sum 3.105000", "t_seconds_count 4"]


def test_the_receiver_exposes_every_family() -> None:
    text = ReceiverMetrics().render(spool_depth=7)
    for family in ("received_total", "stored_total", "duplicates_total", "rejected_total", "spooled_total",
                   "spool_replayed_total", "request_seconds"):
        assert f"# TYPE vbotflow_webhook_{family} " in text
    assert "vbotflow_webhook_spool_depth 7\n" in text
