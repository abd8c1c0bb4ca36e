"""Call records in VBot's shapes: auto-call history (vbot-api.md 2b) and call history (2a)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vbotflow.vbot.timestamps import VIETNAM
from vbotflow_dev.simulator.outcomes import (
    ANSWER,
    BUSY,
    CANCEL,
    CARRIER_UNSUPPORTED,
    LOW_BALANCE,
    NO_ANSWER,
    NO_HOTLINE,
    PACKAGE_EXPIRED,
    SYSTEM_ERRORS,
    UNKNOWN_PHONE,
)
from vbotflow_dev.simulator.schedule import PlannedAttempt

VBOT_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"  # VBot's MM/dd/yyyy HH:mm:ss, Vietnam time, no zone
EVENT_DATA = "autocall"

# The call history page has dispositions, the auto-call page status codes: how one reads as the other.
# An account problem (103, 105) is a failed call, not the callee's DONTCALL (an opt-out that
# reconciliation turns into a suppression), so it reads as CONGESTION with the code in ``error``.
_DISPOSITIONS = {ANSWER: "ANSWER", NO_ANSWER: "NOANSWER", BUSY: "BUSY", CANCEL: "CANCEL",
                 UNKNOWN_PHONE: "INVALIDARGS", NO_HOTLINE: "CHANUNAVAIL", CARRIER_UNSUPPORTED: "CHANUNAVAIL",
                 LOW_BALANCE: "CONGESTION", PACKAGE_EXPIRED: "CONGESTION"}
_REACHED = frozenset({ANSWER, NO_ANSWER, BUSY, CANCEL})  # the call went through; no error to report
_MESSAGES = {UNKNOWN_PHONE: "Số điện thoại không xác định",
             NO_HOTLINE: "Không tìm thấy hotline cho thuộc nhà mạng của số điện thoại",
             LOW_BALANCE: "Tài khoản không đủ tiền", PACKAGE_EXPIRED: "Gói VBot hết hạn hoặc chưa đăng ký",
             CARRIER_UNSUPPORTED: "Không hỗ trợ nhà mạng của số điện thoại"}


def vbot_time(moment: datetime) -> str:
    """A timestamp as VBot writes it: Vietnam local time, ``MM/dd/yyyy HH:mm:ss``."""
    return moment.astimezone(VIETNAM).strftime(VBOT_TIME_FORMAT)


def disposition(status: int) -> str:
    if status in _DISPOSITIONS:
        return _DISPOSITIONS[status]
    return "CONGESTION" if status in SYSTEM_ERRORS else "MORE"


@dataclass(frozen=True)
class CallRecord:
    """One attempt that happened: the simulator's truth, from which deliveries and queries are made."""

    record_id: int  # sequential over the simulator's life
    campaign_id: int
    group_code: str
    hotline: str
    name: str
    description: str
    started_at: datetime  # simulated, aware
    call: PlannedAttempt

    @property
    def phone(self) -> str:
        return self.call.phone

    def autocall_body(self) -> dict[str, Any]:
        """The auto-call history delivery of this attempt (2b)."""
        outcome = self.call.outcome
        return {"campaign_id": self.campaign_id, "create_at": vbot_time(self.started_at), "hotline": self.hotline,
                "phone": self.phone, "name": self.name, "description": self.description,
                "status": outcome.status, "time_call": outcome.time_call, "postage": outcome.postage,
                "service_charge": outcome.service_charge, "action_log": outcome.action_log,
                "event_data": EVENT_DATA}

    def history_record(self) -> dict[str, Any]:
        """This attempt as a call history record (2a): text values, a disposition instead of a status."""
        outcome = self.call.outcome
        answered = outcome.status == ANSWER
        # The recording's name must not carry the phone number: a hash of the record stands in.
        digest = hashlib.sha256(f"{self.campaign_id}:{self.phone}:{self.call.attempt}".encode()).hexdigest()[:16]
        return {"hotline_number": self.hotline, "date_create": vbot_time(self.started_at),
                "time_call": str(outcome.time_call), "type_call": "CALLOUT", "caller": self.hotline,
                "callee": self.phone, "postage": _money_text(outcome.postage),
                "source": f"autocall:{self.campaign_id}", "event_data": EVENT_DATA,
                "disposition": disposition(outcome.status),
                "record_file": f"https://records.vbot-sim.invalid/{digest}.mp3" if answered else "",
                "message": _MESSAGES.get(outcome.status, ""),
                "error": 0 if outcome.status in _REACHED else outcome.status}


def history_body(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A call history delivery (2a): several records in ``data``."""
    return {"status": "1", "message": "", "error": 0, "data": records}


def _money_text(amount: float) -> str:
    return str(int(amount)) if float(amount).is_integer() else str(amount)
