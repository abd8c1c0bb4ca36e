"""The simulator itself: takes creates (with faults), dials in the background, delivers results."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from vbotflow.privacy.masking import mask_phone
from vbotflow.vbot.timestamps import VIETNAM
from vbotflow_dev.simulator.auth import TokenStore
from vbotflow_dev.simulator.chaos import AUTOCALL, plan_deliveries
from vbotflow_dev.simulator.config import SimConfig
from vbotflow_dev.simulator.dispatcher import Dispatcher
from vbotflow_dev.simulator.faults import ERROR_400, HANG, HTTP_500, decide_fault
from vbotflow_dev.simulator.records import CallRecord
from vbotflow_dev.simulator.schedule import plan_campaign
from vbotflow_dev.simulator.state import DELIVERED, FAILED, CampaignState, SimState
from vbotflow_dev.simulator.validation import CampaignRequest, InvalidCampaign, parse_create_body

log = logging.getLogger(__name__)

ERROR_ANSWER_500 = {"status": 0, "error": 400, "msg": "Lỗi hệ thống", "data": "-1"}
ERROR_ANSWER_400 = {"status": 0, "error": 400, "msg": "Lỗi", "data": "-1"}


def invalid_answer(message: str) -> dict[str, Any]:
    return {"status": 0, "error": 201, "msg": f"Tham số không hợp lệ: {message}", "data": "-1"}


class Simulator:
    """A fake VBot: one instance per server; ``start`` before use, ``stop`` after."""

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self.state = SimState(config.first_campaign_id)
        self.tokens = TokenStore(config.accounts, clock)
        self.dispatcher = Dispatcher(clock)
        self._stopping = threading.Event()  # wakes hanging requests when the server stops
        self._session = requests.Session()  # used by the dispatcher thread only

    def start(self) -> None:
        self.dispatcher.start()

    def stop(self) -> None:
        self._stopping.set()
        self.dispatcher.stop()
        self._session.close()

    def reset(self) -> None:
        """Forget every campaign, call and delivery; ids start again (tokens stay valid)."""
        self.dispatcher.clear()
        self.dispatcher.wait_idle(timeout=10)
        self.state.reset()

    # -- create -----------------------------------------------------------------------------------

    def create_campaign(self, raw_body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer ``POST /api/campaign/create``: (HTTP status, JSON answer)."""
        number = self.state.next_create_number()
        faults = self.config.faults
        fault = decide_fault(self.config.seed, number, faults)
        if faults.latency_seconds > 0:
            self._stopping.wait(faults.latency_seconds)
        if fault == HTTP_500:
            return self._answer(number, fault, 500, ERROR_ANSWER_500, raw_body)
        if fault == ERROR_400:
            return self._answer(number, fault, 200, ERROR_ANSWER_400, raw_body)
        try:
            request = parse_create_body(raw_body, self.config)
        except InvalidCampaign as err:
            log.info("Create request %d refused (error 201): %s", number, err)
            answer = self._answer(number, fault, 200, invalid_answer(str(err)), raw_body)
        else:
            campaign_id = self._start_campaign(request, raw_body)
            answer = self._answer(number, fault, 200, {"status": 1, "error": 0, "msg": "success", "data": campaign_id},
                                  raw_body)
        if fault == HANG:
            # The body was read and acted on; the caller waits in vain: its outcome is ambiguous.
            log.info("Create request %d: holding the answer for %.1f s", number, faults.hang_seconds)
            self._stopping.wait(faults.hang_seconds)
        return answer

    def _answer(self, number: int, fault: str | None, http_status: int, answer: dict[str, Any],
                raw_body: bytes) -> tuple[int, dict[str, Any]]:
        self.state.note_create(number, fault=fault, http_status=http_status, answer=answer, body=_parsed(raw_body))
        if fault in (HTTP_500, ERROR_400):
            log.info("Create request %d: injected fault %s", number, fault)
        return http_status, answer

    def _start_campaign(self, request: CampaignRequest, raw_body: bytes) -> int:
        config = self.config
        campaign_id = self.state.new_campaign_id()
        sim_start = _sim_start(config.dialing.start_at)
        phones = [c.phone for c in request.contacts]
        plan = plan_campaign(config.seed, campaign_id, phones, request.number_calls, config.dialing,
                             config.chaos.unknown_status_rate) if config.dialing.enabled else []
        record_ids = self.state.new_record_ids(len(plan))
        records = [CallRecord(record_id, campaign_id, request.group_code, request.template.hotline,
                              request.contacts[p.contact_index].name, request.contacts[p.contact_index].description,
                              sim_start + timedelta(seconds=p.start_offset), p)
                   for record_id, p in zip(record_ids, plan, strict=True)]
        deliveries = []
        if config.delivery.webhook_url and plan:
            history_url = config.delivery.history_webhook_url or config.delivery.webhook_url
            planned = plan_deliveries(config.seed, campaign_id, records, [p.end_offset for p in plan], config.chaos,
                                      config.delivery.history_batch_size)
            deliveries = [(config.delivery.webhook_url if d.kind == AUTOCALL else history_url, d) for d in planned]
        campaign = CampaignState(
            campaign_id=campaign_id, name=request.name, vbot_id=request.vbot_id, group_code=request.group_code,
            template_id=request.template.template_id, hotline=request.template.hotline,
            created_at=datetime.now(UTC).isoformat(timespec="milliseconds"), sim_start=sim_start,
            payload=_parsed(raw_body), contacts=len(request.contacts), planned_attempts=len(plan))
        delivery_ids = self.state.add_campaign(campaign, deliveries)
        log.info("Campaign %d %r created from template %d: %d contacts, %d attempts planned, %d deliveries",
                 campaign_id, request.name, request.template.template_id, len(request.contacts), len(plan),
                 len(delivery_ids))
        started = self._clock()
        scale = config.dialing.time_scale
        jobs = [(started + r.call.end_offset / scale, self._call_job(r)) for r in records]
        jobs += [(started + d.due_offset / scale, self._delivery_job(i))
                 for i, (_url, d) in zip(delivery_ids, deliveries, strict=True)]
        self.dispatcher.schedule(jobs)
        return campaign_id

    # -- background jobs --------------------------------------------------------------------------

    def _call_job(self, record: CallRecord) -> Callable[[], float | None]:
        def job() -> None:
            self.state.add_call(record)
            log.debug("Campaign %d called %s (attempt %d): status %d, %d s", record.campaign_id,
                      mask_phone(record.phone), record.call.attempt, record.call.outcome.status,
                      record.call.outcome.time_call)
        return job

    def _delivery_job(self, delivery_id: int) -> Callable[[], float | None]:
        return lambda: self._deliver(delivery_id)

    def _deliver(self, delivery_id: int) -> float | None:
        delivery = self.state.delivery(delivery_id)
        if delivery is None:  # forgotten by a reset
            return None
        settings = self.config.delivery
        headers = {"Content-Type": "application/json", "User-Agent": "vbot-simulator", **settings.headers}
        try:
            response = self._session.post(delivery.url, data=delivery.plan.body, headers=headers,
                                          timeout=settings.timeout_seconds, allow_redirects=False)
        except requests.RequestException as err:
            result: dict[str, Any] = {"error": type(err).__name__}
            ok = False
        else:
            result = {"http_status": response.status_code}
            ok = 200 <= response.status_code < 300
        tries = len(delivery.tries) + 1
        give_up = not ok and tries >= settings.max_attempts
        self.state.add_try(delivery_id, result, DELIVERED if ok else FAILED if give_up else None)
        outcome = f"HTTP {result['http_status']}" if "http_status" in result else result["error"]
        if ok:
            log.info("Delivery %d (%s, campaign %d): %s on try %d", delivery_id, delivery.plan.kind,
                     delivery.campaign_id, outcome, tries)
            return None
        if give_up:
            log.warning("Delivery %d (%s, campaign %d) given up after %d tries: %s", delivery_id,
                        delivery.plan.kind, delivery.campaign_id, tries, outcome)
            return None
        delay = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** (tries - 1))
        log.info("Delivery %d (%s, campaign %d): %s on try %d; next try in %.2f s", delivery_id,
                 delivery.plan.kind, delivery.campaign_id, outcome, tries, delay)
        return self._clock() + delay

    # -- reads ------------------------------------------------------------------------------------

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every planned call is made and every delivery settled (or ``timeout`` passes)."""
        return self.dispatcher.wait_idle(timeout)


def _sim_start(start_at: datetime | None) -> datetime:
    if start_at is None:
        return datetime.now(UTC).replace(microsecond=0)
    # A start time without a zone is Vietnam time, like every VBot timestamp.
    return start_at if start_at.tzinfo else start_at.replace(tzinfo=VIETNAM)


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw.decode("utf-8", errors="replace")
