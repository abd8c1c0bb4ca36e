"""Auto-call status codes (vbot-api.md 2b) and call-history dispositions (2a): what each means and its class."""

from __future__ import annotations

ANSWERED = 200
STATUS_NAMES: dict[int, str] = {
    200: "ANSWER", 2: "NO_ANSWER", 3: "BUSY", 4: "CANCEL", 101: "UNKNOWN_NUMBER", 102: "NO_HOTLINE_FOR_CARRIER",
    103: "BALANCE_TOO_LOW", 105: "PACKAGE_EXPIRED", 106: "CARRIER_NOT_SUPPORTED", 100: "SYSTEM_ERROR",
    -100: "SYSTEM_ERROR", 104: "UNKNOWN_ERROR",
}
# The class decides what happens next: retry later, suppress, alert, or look into it.
STATUS_CLASSES: dict[int, str] = {
    200: "answered", 2: "not_reached", 3: "not_reached", 4: "not_reached", 101: "bad_number", 102: "routing",
    103: "account", 105: "account", 106: "bad_number", 100: "vbot_error", -100: "vbot_error", 104: "vbot_error",
}
UNKNOWN_CLASS = "unknown"
OUTCOME_CLASSES = ("answered", "not_reached", "bad_number", "routing", "account", "vbot_error", UNKNOWN_CLASS)
ACCOUNT_ALERT_CODES = (103, 105)  # every call of the account fails: somebody must act
SUPPRESS_CODES = (101, 106)  # the number cannot be called with this account: never again

# Call-history dispositions (2a) as auto-call codes, for results fetched from the history API.
DISPOSITION_STATUS: dict[str, int] = {
    "ANSWER": 200, "NOANSWER": 2, "MISSCALL": 2, "BUSY": 3, "INCALL": 3, "CANCEL": 4, "INVALIDARGS": 101,
    "CHANUNAVAIL": 102, "CONGESTION": 100, "NORMAL_CLEARING": 100,
}
OPT_OUT_DISPOSITION = "DONTCALL"


def status_class(code: int | None) -> str:
    """The class of an auto-call status code; unknown codes are kept and classed ``unknown``."""
    return STATUS_CLASSES.get(code, UNKNOWN_CLASS) if code is not None else UNKNOWN_CLASS
