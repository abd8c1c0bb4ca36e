"""The dialing model: seeded outcomes per attempt, carriers, costs, and the campaign's dialing plan."""

from __future__ import annotations

from collections import Counter

import pytest

from vbotflow_dev.simulator.carriers import carrier_of
from vbotflow_dev.simulator.config import Dialing
from vbotflow_dev.simulator.outcomes import RETRIED_STATUSES, UNLISTED_STATUSES, decide_outcome
from vbotflow_dev.simulator.schedule import plan_campaign

DIALING = Dialing()
PHONES = [f"09{n:08d}" for n in range(11_000_000, 11_000_400)]  # 400 Vinaphone numbers (091...)


@pytest.mark.parametrize(
    ("phone", "carrier"),
    [("0961234567", "viettel"), ("0321234567", "viettel"), ("0911234567", "vinaphone"),
     ("0901234567", "mobifone"), ("0921234567", "vietnamobile"), ("0991234567", "gmobile"), ("0871234567", "itel"),
     ("02471234567", "landline"), ("0111234567", None), ("091234567", None), ("+84912345678", None),
     ("0912 345 678", None)],
)
def test_carrier_of_a_domestic_number(phone, carrier) -> None:
    assert carrier_of(phone) == carrier


@pytest.mark.parametrize(
    ("phone", "dialing", "status"),
    [("0111234567", DIALING, 101), ("0871234567", DIALING, 102), ("0991234567", DIALING, 106),
     ("0961234567", Dialing(account_status="low_balance"), 103),
     ("0961234567", Dialing(account_status="expired"), 105)],
)
def test_numbers_and_accounts_vbot_cannot_call_fail_every_attempt_without_cost(phone, dialing, status) -> None:
    outcomes = [decide_outcome(1, 7, phone, attempt, dialing) for attempt in (1, 2, 3)]
    assert {o.status for o in outcomes} == {status}
    assert all(o.time_call == 0 and o.postage == 0 and o.service_charge == 0 for o in outcomes)
    assert not any(o.is_retried for o in outcomes)


def test_an_attempt_depends_only_on_seed_campaign_phone_and_attempt_number() -> None:
    first = [decide_outcome(42, 5, p, 1, DIALING) for p in PHONES]
    assert [decide_outcome(42, 5, p, 1, DIALING) for p in reversed(PHONES)] == list(reversed(first))
    assert [decide_outcome(43, 5, p, 1, DIALING) for p in PHONES] != first
    assert [decide_outcome(42, 6, p, 1, DIALING) for p in PHONES] != first


def test_the_outcome_mix_follows_the_weights_and_costs_follow_the_duration() -> None:
    outcomes = [decide_outcome(3, 1, p, 1, DIALING) for p in PHONES]
    shares = Counter(o.status for o in outcomes)
    assert 0.45 < shares[200] / len(outcomes) < 0.65  # weight 0.55
    assert 0.15 < shares[2] / len(outcomes) < 0.30  # weight 0.22
    assert set(shares) <= {200, 2, 3, 4, 100, 104, -100}
    for o in outcomes:
        if o.status == 200:
            assert 8 <= o.time_call <= 150
            assert o.postage == -(-o.time_call // 6) * 110.0  # per started 6-second block
            assert o.service_charge == -(-o.time_call // 60) * 300.0  # per started minute
            assert o.action_log.startswith("play:greeting") and "hangup" in o.action_log
        else:
            assert (o.time_call, o.postage, o.service_charge, o.action_log) == (0, 0.0, 0.0, "")


def test_unknown_statuses_take_their_share_without_changing_the_other_draws() -> None:
    plain = [decide_outcome(3, 1, p, 1, DIALING) for p in PHONES]
    chaotic = [decide_outcome(3, 1, p, 1, DIALING, unknown_status_rate=0.1) for p in PHONES]
    changed = [(a, b) for a, b in zip(plain, chaotic, strict=True) if a != b]
    assert all(b.status in UNLISTED_STATUSES and not b.is_retried for _a, b in changed)
    assert len(changed) == 35  # seed 3: a known answer, near the 10 % asked for


def test_unanswered_contacts_are_retried_up_to_number_call_and_spaced_apart() -> None:
    phones = PHONES[:60]
    plan = plan_campaign(9, 1, phones, [3] * len(phones), DIALING)
    by_contact: dict[int, list] = {}
    for call in plan:
        by_contact.setdefault(call.contact_index, []).append(call)
    assert set(by_contact) == set(range(len(phones)))
    retried = 0
    for calls in by_contact.values():
        calls.sort(key=lambda c: c.attempt)
        assert [c.attempt for c in calls] == list(range(1, len(calls) + 1))
        assert len(calls) <= 3
        for before, after in zip(calls, calls[1:], strict=False):
            retried += 1
            assert before.outcome.status in RETRIED_STATUSES
            assert after.start_offset >= before.end_offset + DIALING.retry_interval_seconds
        last = calls[-1].outcome
        assert last.status == 200 or not last.is_retried or len(calls) == 3  # stops when answered or out of calls
    assert retried > 0


def test_a_campaign_never_has_more_calls_in_progress_than_lines() -> None:
    plan = plan_campaign(9, 1, PHONES[:100], [2] * 100, Dialing(lines=4))
    moments = sorted({c.start_offset for c in plan})
    for moment in moments:
        assert sum(1 for c in plan if c.start_offset <= moment < c.end_offset) <= 4
    assert [(c.end_offset, c.contact_index) for c in plan] == sorted((c.end_offset, c.contact_index) for c in plan)


def test_number_call_one_means_exactly_one_attempt_per_contact() -> None:
    plan = plan_campaign(9, 1, PHONES[:50], [1] * 50, DIALING)
    assert sorted(c.contact_index for c in plan) == list(range(50))
