"""Deliveries of a campaign and what each chaos option does to them, for a fixed seed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from vbotflow_dev.simulator.chaos import AUTOCALL, CALL_HISTORY, plan_deliveries
from vbotflow_dev.simulator.config import Chaos, Dialing
from vbotflow_dev.simulator.records import VIETNAM, CallRecord
from vbotflow_dev.simulator.schedule import plan_campaign

SEED, CAMPAIGN = 11, 4
START = datetime(2026, 11, 26, 8, 0, tzinfo=VIETNAM)


def _records(count: int = 40) -> tuple[list[CallRecord], list[float]]:
    phones = [f"09{n:08d}" for n in range(61_000_000, 61_000_000 + count)]
    plan = plan_campaign(SEED, CAMPAIGN, phones, [1] * count, Dialing())
    records = [CallRecord(n + 1, CAMPAIGN, "PR1", "02473001234", f"Khách {n}", "", START +
                          timedelta(seconds=p.start_offset), p) for n, p in enumerate(plan)]
    return records, [p.end_offset for p in plan]


def _plan(chaos: Chaos, batch: int = 0):
    records, ends = _records()
    return plan_deliveries(SEED, CAMPAIGN, records, ends, chaos, batch)


def test_without_chaos_each_attempt_is_one_autocall_delivery_in_the_order_calls_end() -> None:
    records, ends = _records()
    deliveries = plan_deliveries(SEED, CAMPAIGN, records, ends, Chaos())
    assert [json.loads(d.body) for d in deliveries] == [r.autocall_body() for r in records]
    assert {d.kind for d in deliveries} == {AUTOCALL}
    assert [d.due_offset for d in deliveries] == ends
    assert not any(d.malformed or d.duplicate or d.out_of_order for d in deliveries)


def test_the_autocall_body_has_the_fields_of_vbot_api_2b_with_vbot_timestamps() -> None:
    body = json.loads(_plan(Chaos())[0].body)
    assert list(body) == ["campaign_id", "create_at", "hotline", "phone", "name", "description", "status",
                          "time_call", "postage", "service_charge", "action_log", "event_data"]
    assert datetime.strptime(body["create_at"], "%m/%d/%Y %H:%M:%S") >= datetime(2026, 11, 26, 8, 0)
    assert isinstance(body["time_call"], int) and isinstance(body["postage"], float)


def test_the_same_seed_plans_the_same_deliveries() -> None:
    chaos = Chaos(duplicate_rate=0.2, out_of_order_rate=0.2, malformed_rate=0.1, lowercase_disposition_rate=0.5)
    assert _plan(chaos, 5) == _plan(chaos, 5)


def test_malformed_deliveries_are_cut_short_and_flagged() -> None:
    deliveries = _plan(Chaos(malformed_rate=0.25))
    malformed = [d for d in deliveries if d.malformed]
    assert len(malformed) == 7  # seed 11: a known answer, near the 25 % asked for
    for delivery in deliveries:
        if delivery.malformed:
            with pytest.raises(json.JSONDecodeError):
                json.loads(delivery.body)
        else:
            json.loads(delivery.body)


def test_held_back_deliveries_arrive_after_a_later_attempt() -> None:
    deliveries = _plan(Chaos(out_of_order_rate=0.2))
    late = [n for n, d in enumerate(deliveries) if d.out_of_order]
    assert len(late) == 10  # seed 11: a known answer
    for position in late:
        assert any(d.index > deliveries[position].index for d in deliveries[:position])
    in_order = [d.index for d in deliveries if not d.out_of_order]
    assert in_order == sorted(in_order)
    assert sorted(d.index for d in deliveries) == list(range(40))  # nothing lost, nothing added


def test_duplicates_repeat_a_body_after_the_next_delivery() -> None:
    deliveries = _plan(Chaos(duplicate_rate=0.2))
    copies = [n for n, d in enumerate(deliveries) if d.duplicate]
    assert len(copies) == 6 and len(deliveries) == 40 + 6  # seed 11: a known answer
    for position in copies:
        original = next(n for n, d in enumerate(deliveries) if d.index == deliveries[position].index)
        assert deliveries[original].body == deliveries[position].body and not deliveries[original].duplicate
        assert position - original >= 2 or position == len(deliveries) - 1


def test_call_history_batches_carry_several_records_and_some_lower_case_dispositions() -> None:
    records, _ends = _records()
    deliveries = _plan(Chaos(lowercase_disposition_rate=0.3), batch=6)
    batches = [d for d in deliveries if d.kind == CALL_HISTORY]
    assert [len(b.record_ids) for b in batches] == [6] * 6 + [4]
    assert [i for b in batches for i in b.record_ids] == [r.record_id for r in records]
    items = [item for b in batches for item in json.loads(b.body)["data"]]
    lowered = [item["disposition"] for item in items if item["disposition"].islower()]
    assert len(lowered) == sum(b.lowercase_dispositions for b in batches) == 17  # seed 11: a known answer
    assert set(lowered) <= {"answer", "noanswer", "busy", "cancel", "congestion"}
    assert json.loads(batches[0].body)["status"] == "1"
    # a batch is sent when its last call ends, after that call's own autocall delivery
    for batch in batches:
        last = max(n for n, d in enumerate(deliveries) if d.kind == AUTOCALL and d.record_ids[0] in batch.record_ids)
        assert deliveries.index(batch) > last
