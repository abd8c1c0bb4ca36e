"""The running simulator over real HTTP: dialing, webhook deliveries and their retries, determinism,
create faults, delivery chaos, the call history query and the inspection endpoints."""

from __future__ import annotations

import json
import socket
from collections import Counter

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.integration.sim_http import (
    AUTH,
    GMOBILE,
    GROUP_CODE,
    ITEL,
    MOBIFONE,
    NO_CARRIER,
    VBOT_ID,
    VIETNAMOBILE,
    VIETTEL,
    VINAPHONE,
    create_body,
    fast_config,
    post_create,
    sim_get,
    wait_idle,
)
from vbotflow_dev.simulator import run_simulator_in_thread

HOOK = "/vbot/webhook"
MIXED = [VIETTEL, VINAPHONE, MOBIFONE, VIETNAMOBILE, ITEL, GMOBILE, NO_CARRIER]
MANY = [f"09{n:08d}" for n in range(71_000_000, 71_000_060)]  # 60 Viettel numbers
DOCUMENTED_STATUSES = {200, 2, 3, 4, 100, -100, 101, 102, 103, 104, 105, 106}


@pytest.fixture
def receiver(loopback_http: HTTPServer) -> HTTPServer:
    """A webhook receiver on loopback: accepts JSON (200), refuses what is not JSON (400)."""
    loopback_http.clear()
    loopback_http.expect_request(HOOK, method="POST").respond_with_handler(_accept_json)
    return loopback_http


def _accept_json(request: Request) -> Response:
    try:
        json.loads(request.get_data())
    except ValueError:
        return Response("malformed", status=400)
    return Response("ok")


def _received(server: HTTPServer) -> list[bytes]:
    return [request.get_data() for request, _ in server.log if request.path == HOOK]


def _parsed(bodies: list[bytes]) -> list[dict]:
    out = []
    for body in bodies:
        try:
            out.append(json.loads(body))
        except ValueError:
            continue
    return out


def _run_campaign(config, phones, *, number_call: int | None = None) -> tuple[int, dict, list[dict]]:
    """Create one campaign on a fresh simulator, wait for it; returns its id, totals and deliveries."""
    with run_simulator_in_thread(config) as base_url:
        answer = post_create(base_url, create_body(phones, number_call=number_call)).json()
        wait_idle(base_url)
        campaign_id = answer["data"]
        return campaign_id, sim_get(base_url, "totals")[str(campaign_id)], sim_get(base_url, "deliveries")


# -- dialing and delivery ---------------------------------------------------------------------------------


def test_every_attempt_reaches_the_webhook_and_the_totals_add_up(receiver) -> None:
    config = fast_config(seed=2, delivery={"webhook_url": receiver.url_for(HOOK),
                                           "headers": {"X-Webhook-Token": "t0k"}})
    with run_simulator_in_thread(config) as base_url:
        answer = post_create(base_url, create_body(MIXED + MANY[:13], number_call=2)).json()
        wait_idle(base_url)
        totals = sim_get(base_url, "totals")[str(answer["data"])]
        calls = sim_get(base_url, "calls")

    received = _parsed(_received(receiver))
    assert answer == {"status": 1, "error": 0, "msg": "success", "data": 1}
    assert totals["done"] is True and totals["deliveries"] == {"planned": len(calls), "delivered": len(calls),
                                                               "failed": 0, "pending": 0}
    assert sorted(map(json.dumps, received)) == sorted(
        json.dumps({k: v for k, v in c.items() if k not in ("record_id", "attempt")}) for c in calls)
    assert totals["attempts"] == len(received) > len(MIXED) + 13  # some unanswered contacts were called again
    assert totals["answered"] == sum(1 for b in received if b["status"] == 200) > 0
    assert totals["total_postage"] == sum(b["postage"] for b in received) > 0
    assert totals["total_service_charge"] == sum(b["service_charge"] for b in received) > 0
    by_phone = {b["phone"]: b["status"] for b in received}
    assert (by_phone[ITEL], by_phone[GMOBILE], by_phone[NO_CARRIER]) == (102, 106, 101)
    assert all(b["campaign_id"] == 1 and b["hotline"] == "02473001234" for b in received)
    assert {r.headers["X-Webhook-Token"] for r, _ in receiver.log} == {"t0k"}
    assert {r.headers["Content-Type"] for r, _ in receiver.log} == {"application/json"}


def test_two_runs_with_the_same_seed_deliver_the_same_results_in_the_same_order(receiver) -> None:
    def run(seed: int) -> list[bytes]:
        receiver.clear_log()
        config = fast_config(seed=seed, delivery={"webhook_url": receiver.url_for(HOOK), "history_batch_size": 5},
                             chaos={"duplicate_rate": 0.1, "out_of_order_rate": 0.1})
        _run_campaign(config, MANY, number_call=3)
        return _received(receiver)

    first, second, other_seed = run(5), run(5), run(6)
    assert first == second
    assert len(first) > len(MANY)
    assert other_seed != first


def test_a_delivery_answered_503_is_retried_until_accepted(receiver) -> None:
    answers = iter([503, 503, 200])
    receiver.clear()
    receiver.expect_request(HOOK).respond_with_handler(lambda _request: Response("", status=next(answers, 200)))
    config = fast_config(delivery={"webhook_url": receiver.url_for(HOOK)})
    _id, totals, deliveries = _run_campaign(config, [VIETTEL])

    (delivery,) = deliveries
    assert [t["http_status"] for t in delivery["tries"]] == [503, 503, 200]
    assert delivery["state"] == "delivered" and totals["done"] is True
    bodies = _received(receiver)
    assert len(bodies) == 3 and len(set(bodies)) == 1  # the same body each time


def test_a_receiver_that_stays_down_gets_a_bounded_number_of_tries() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}{HOOK}"
    config = fast_config(delivery={"webhook_url": dead_url, "max_attempts": 3})
    _id, totals, deliveries = _run_campaign(config, [VIETTEL, MOBIFONE])

    assert [d["state"] for d in deliveries] == ["failed", "failed"]
    assert [[t.get("error") for t in d["tries"]] for d in deliveries] == [["ConnectionError"] * 3] * 2
    assert totals["deliveries"]["failed"] == 2 and totals["attempts"] == 2  # the calls happened all the same


def test_call_history_deliveries_carry_several_records(receiver) -> None:
    config = fast_config(delivery={"webhook_url": receiver.url_for(HOOK), "history_batch_size": 4})
    _id, totals, _deliveries = _run_campaign(config, MANY[:10])
    batches = [b for b in _parsed(_received(receiver)) if "data" in b]
    assert [len(b["data"]) for b in batches] == [4, 4, 2]
    record = batches[0]["data"][0]
    assert set(record) == {"hotline_number", "date_create", "time_call", "type_call", "caller", "callee", "postage",
                           "source", "event_data", "disposition", "record_file", "message", "error"}
    assert record["type_call"] == "CALLOUT" and record["source"] == f"autocall:{_id}"
    assert sum(1 for b in batches for r in b["data"] if r["disposition"] == "ANSWER") == totals["answered"]


# -- create faults -----------------------------------------------------------------------------------------


def test_create_faults_take_their_exact_seeded_share_of_requests() -> None:
    config = fast_config(seed=8, faults={"http_500_rate": 0.2, "error_400_rate": 0.1, "hang_rate": 0.1,
                                         "hang_seconds": 0.01})
    with run_simulator_in_thread(config) as base_url:
        answers = [post_create(base_url, create_body([VIETTEL], name=f"c{n}")) for n in range(40)]
        creates = sim_get(base_url, "creates")
        campaigns = sim_get(base_url, "campaigns")

    kinds = Counter(c["fault"] for c in creates)
    assert kinds == {None: 25, "http_500": 9, "error_400": 4, "hang": 2}  # seed 8: a known answer
    assert [a.status_code for a in answers].count(500) == 9
    assert [a.json()["error"] for a in answers].count(400) == 13  # 500s carry error 400 too
    assert len(campaigns) == 25 + 2  # a hung create still created its campaign
    assert [c["campaign_id"] for c in campaigns] == list(range(1, 28))


def test_added_latency_holds_every_create_answer() -> None:
    with run_simulator_in_thread(fast_config(faults={"latency_seconds": 2.0})) as base_url:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(f"{base_url}/api/campaign/create", json=create_body([VIETTEL]), headers=AUTH, timeout=0.2)
    with run_simulator_in_thread(fast_config()) as base_url:
        assert requests.post(f"{base_url}/api/campaign/create", json=create_body([VIETTEL]), headers=AUTH,
                             timeout=5).json()["status"] == 1


# -- delivery chaos ----------------------------------------------------------------------------------------


def _chaos_run(receiver, **chaos) -> tuple[dict, list[dict], list[bytes]]:
    config = fast_config(seed=4, chaos=chaos, delivery={"webhook_url": receiver.url_for(HOOK), "max_attempts": 2,
                                                        "history_batch_size": 5})
    _id, totals, deliveries = _run_campaign(config, MANY, number_call=2)
    return totals, deliveries, _received(receiver)


def test_duplicate_deliveries_send_the_same_body_twice(receiver) -> None:
    totals, deliveries, received = _chaos_run(receiver, duplicate_rate=0.2)
    copies = [d for d in deliveries if d["duplicate"]]
    assert len(copies) == 15  # seed 4: a known answer
    repeated = [body for body, count in Counter(received).items() if count == 2]
    assert len(received) == len(deliveries) and len(repeated) == len(copies)
    assert totals["attempts"] == sum(1 for d in deliveries if d["kind"] == "autocall" and not d["duplicate"])


def test_out_of_order_deliveries_arrive_after_a_later_call(receiver) -> None:
    _totals, deliveries, received = _chaos_run(receiver, out_of_order_rate=0.2)
    index_of = {d["body"].encode(): d["index"] for d in deliveries}
    arrived = [index_of[body] for body in received]
    late = [n for n, index in enumerate(arrived) if any(earlier > index for earlier in arrived[:n])]
    assert len(late) == sum(1 for d in deliveries if d["out_of_order"]) == 19  # seed 4: a known answer


def test_malformed_deliveries_are_not_json_and_retried_then_given_up(receiver) -> None:
    _totals, deliveries, received = _chaos_run(receiver, malformed_rate=0.1)
    malformed = [d for d in deliveries if d["malformed"]]
    assert len(malformed) == 9  # seed 4: a known answer
    assert all(d["state"] == "failed" and [t["http_status"] for t in d["tries"]] == [400, 400] for d in malformed)
    assert len(received) - len(_parsed(received)) == 2 * len(malformed)
    assert all(d["state"] == "delivered" for d in deliveries if not d["malformed"])


def test_lower_case_dispositions_appear_in_call_history(receiver) -> None:
    _totals, _deliveries, received = _chaos_run(receiver, lowercase_disposition_rate=0.25)
    dispositions = [r["disposition"] for b in _parsed(received) if "data" in b for r in b["data"]]
    lowered = [d for d in dispositions if d.islower()]
    assert len(lowered) == 23 and len(dispositions) > 60  # seed 4: a known answer
    assert {d.upper() for d in lowered} <= {"ANSWER", "NOANSWER", "BUSY", "CANCEL", "CONGESTION"}


def test_unknown_status_codes_are_delivered_and_counted(receiver) -> None:
    totals, _deliveries, received = _chaos_run(receiver, unknown_status_rate=0.1)
    statuses = [b["status"] for b in _parsed(received) if "status" in b and "data" not in b]
    unknown = [s for s in statuses if s not in DOCUMENTED_STATUSES]
    assert len(unknown) == 10  # seed 4: a known answer
    assert sum(totals["by_status"].get(str(s), 0) for s in set(unknown)) == len(unknown)


# -- call history query -------------------------------------------------------------------------------------


def test_get_all_pages_through_the_calls_made_with_filters() -> None:
    with run_simulator_in_thread(fast_config(seed=3)) as base_url:
        post_create(base_url, create_body(MANY[:25], number_call=2))
        wait_idle(base_url)
        attempts = sim_get(base_url, "totals")["1"]["attempts"]
        url = f"{base_url}/api/crm/historycall/getAll"

        def get(**params) -> dict:
            return requests.get(url, params={"vbot_id": VBOT_ID, **params}, headers=AUTH, timeout=5).json()

        pages = [get(page=n, size=10) for n in (1, 2, 3, 4)]
        by_phone = get(phone=MANY[3], size=50)
        other_group = get(project_code="PR-OTHER")
        same_group = get(project_code=GROUP_CODE, size=1)
        unknown_account = get(vbot_id="1")
        bad_size = get(size=0)
        anonymous = requests.get(url, params={"vbot_id": VBOT_ID}, timeout=5)

    records = [r for p in pages for r in p["data"]]
    assert all(p["total"] == attempts for p in pages) and attempts > 25
    assert len(records) == attempts and [len(p["data"]) for p in pages][:2] == [10, 10]
    assert len({(r["callee"], r["date_create"]) for r in records}) == attempts  # no record twice across pages
    assert by_phone["total"] >= 1 and {r["callee"] for r in by_phone["data"]} == {MANY[3]}
    assert other_group["total"] == 0 and same_group["total"] == attempts
    assert (unknown_account["error"], bad_size["error"]) == (201, 201)
    assert anonymous.status_code == 401


def test_with_dialing_off_a_campaign_is_taken_and_nobody_is_called(receiver) -> None:
    config = fast_config(dialing={"enabled": False}, delivery={"webhook_url": receiver.url_for(HOOK)})
    with run_simulator_in_thread(config) as base_url:
        answer = post_create(base_url, create_body(MANY[:25], number_call=2)).json()
        idle = sim_get(base_url, "idle")
        totals = sim_get(base_url, "totals")[str(answer["data"])]
        calls = sim_get(base_url, "calls")
        campaigns = sim_get(base_url, "campaigns")

    assert answer == {"status": 1, "error": 0, "msg": "success", "data": 1}
    assert idle == {"idle": True, "pending_jobs": 0}
    assert (totals["contacts"], totals["planned_attempts"], totals["attempts"], totals["done"]) == (25, 0, 0, True)
    assert totals["deliveries"] == {"planned": 0, "delivered": 0, "failed": 0, "pending": 0}
    assert calls == [] and _received(receiver) == []
    assert [c["contacts"] for c in campaigns] == [25]


# -- inspection -----------------------------------------------------------------------------------------


def test_reset_forgets_campaigns_and_starts_ids_again() -> None:
    with run_simulator_in_thread(fast_config()) as base_url:
        assert post_create(base_url, create_body([VIETTEL])).json()["data"] == 1
        wait_idle(base_url)
        requests.post(f"{base_url}/_sim/reset", timeout=5).raise_for_status()
        assert [sim_get(base_url, path) for path in ("campaigns", "calls", "creates")] == [[], [], []]
        assert post_create(base_url, create_body([VIETTEL])).json()["data"] == 1


def test_idle_reports_work_still_pending() -> None:
    config = fast_config(dialing={"time_scale": 1.0})  # real time: the first call ends tens of seconds later
    with run_simulator_in_thread(config) as base_url:
        post_create(base_url, create_body([VIETTEL]))
        idle = sim_get(base_url, "idle")
        totals = sim_get(base_url, "totals")["1"]
    assert idle == {"idle": False, "pending_jobs": 1}
    assert (totals["attempts"], totals["done"]) == (0, False)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "sim-static-token"}])
def test_a_create_without_a_valid_bearer_is_401_and_creates_nothing(headers) -> None:
    with run_simulator_in_thread(fast_config()) as base_url:
        answer = post_create(base_url, create_body([VIETTEL]), headers=headers)
        campaigns = sim_get(base_url, "campaigns")
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert campaigns == []


def test_the_token_endpoint_answers_like_an_oauth_server() -> None:
    with run_simulator_in_thread(fast_config(accounts={"token_expires_in": 900})) as base_url:
        granted = requests.post(f"{base_url}/token", timeout=5,
                                data={"grant_type": "password", "username": "demo", "password": "demo-password"})
        as_json = requests.post(f"{base_url}/token", timeout=5,
                                json={"grant_type": "password", "username": "demo", "password": "demo-password"})
        refused = requests.post(f"{base_url}/token", timeout=5,
                                data={"grant_type": "password", "username": "demo", "password": "x"})
        created = post_create(base_url, create_body([VIETTEL]),
                              headers={"Authorization": f"Bearer {granted.json()['access_token']}"})
    assert set(granted.json()) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert (granted.json()["token_type"], granted.json()["expires_in"]) == ("bearer", 900)
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert created.json()["status"] == 1
