"""The background dispatcher: due order, re-runs on request, idle waiting, clearing."""

from __future__ import annotations

import threading

from vbotflow_dev.simulator.dispatcher import Dispatcher


def test_jobs_run_in_due_order_then_scheduling_order_and_may_ask_to_run_again() -> None:
    dispatcher = Dispatcher()
    ran: list[str] = []
    tries = iter([0.0, 0.0, None])  # run "retry" three times in all

    def job(name: str):
        return lambda: ran.append(name)

    def retry():
        ran.append("retry")
        return next(tries)

    dispatcher.schedule([(3.0, job("c")), (1.0, job("a")), (1.0, job("b")), (2.0, retry)])
    dispatcher.start()
    try:
        assert dispatcher.wait_idle(timeout=10)
    finally:
        dispatcher.stop()
    assert ran[:3] == ["a", "b", "retry"] and ran.count("retry") == 3 and ran[-1] in ("c", "retry")
    assert sorted(ran) == ["a", "b", "c", "retry", "retry", "retry"]


def test_a_failing_job_is_dropped_and_the_rest_still_run() -> None:
    dispatcher = Dispatcher()
    ran: list[int] = []

    def broken() -> None:
        raise RuntimeError("boom")

    dispatcher.schedule([(0.0, broken), (0.0, lambda: ran.append(1))])
    dispatcher.start()
    try:
        assert dispatcher.wait_idle(timeout=10)
    finally:
        dispatcher.stop()
    assert ran == [1] and dispatcher.pending == 0


def test_future_jobs_keep_it_busy_until_cleared() -> None:
    dispatcher = Dispatcher()
    later = threading.Event()
    dispatcher.schedule([(float("inf"), later.set)])
    dispatcher.start()
    try:
        assert dispatcher.pending == 1
        assert not dispatcher.wait_idle(timeout=0.05)
        dispatcher.clear()
        assert dispatcher.wait_idle(timeout=10)
    finally:
        dispatcher.stop()
    assert not later.is_set()
