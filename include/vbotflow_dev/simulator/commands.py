"""``vbotflow simulator``: run the VBot simulator as a process (the demo, ``make up``)."""

from __future__ import annotations

import argparse
import logging
import signal
from typing import Any

from vbotflow_dev.simulator.config import SimConfig, load_config

# Command line option → (config section, field); a section of None is a top-level field.
_OPTIONS: dict[str, tuple[str | None, str]] = {
    "seed": (None, "seed"),
    "first_campaign_id": (None, "first_campaign_id"),
    "token_expires_in": ("accounts", "token_expires_in"),
    "time_scale": ("dialing", "time_scale"),
    "start_at": ("dialing", "start_at"),
    "lines": ("dialing", "lines"),
    "dialing_enabled": ("dialing", "enabled"),
    "retry_interval_seconds": ("dialing", "retry_interval_seconds"),
    "account_status": ("dialing", "account_status"),
    "webhook_url": ("delivery", "webhook_url"),
    "history_webhook_url": ("delivery", "history_webhook_url"),
    "history_batch_size": ("delivery", "history_batch_size"),
    "delivery_max_attempts": ("delivery", "max_attempts"),
    "delivery_backoff_seconds": ("delivery", "backoff_seconds"),
    "http_500_rate": ("faults", "http_500_rate"),
    "error_400_rate": ("faults", "error_400_rate"),
    "hang_rate": ("faults", "hang_rate"),
    "hang_seconds": ("faults", "hang_seconds"),
    "latency_seconds": ("faults", "latency_seconds"),
    "duplicate_rate": ("chaos", "duplicate_rate"),
    "out_of_order_rate": ("chaos", "out_of_order_rate"),
    "malformed_rate": ("chaos", "malformed_rate"),
    "lowercase_disposition_rate": ("chaos", "lowercase_disposition_rate"),
    "unknown_status_rate": ("chaos", "unknown_status_rate"),
}


def add_commands(groups: Any) -> None:
    """Add ``simulator`` to the ``vbotflow`` command line."""
    parser = groups.add_parser("simulator", help="run the VBot simulator (a fake VBot for the demo and tests)",
                               description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--config", help="YAML or JSON file: account, templates, any setting (default: the demo's)")
    parser.add_argument("--log-level", default="INFO")
    general = parser.add_argument_group("behaviour")
    general.add_argument("--webhook-url", help="where call results are POSTed (none: calls are made, not reported)")
    general.add_argument("--webhook-header", action="append", default=[], metavar="NAME:VALUE",
                         help="a header sent with every delivery, e.g. a webhook token (repeatable)")
    general.add_argument("--history-webhook-url", help="where call history (2a) goes (default: --webhook-url)")
    general.add_argument("--history-batch-size", type=int,
                         help="records per call history delivery; 0 (default) sends none")
    general.add_argument("--seed", type=int, help="same seed, same outcomes (default 0)")
    general.add_argument("--first-campaign-id", type=int, help="id of the first campaign created (default 1)")
    general.add_argument("--token-expires-in", type=int, help="seconds an access token lives (default 3600)")
    general.add_argument("--time-scale", type=float,
                         help="simulated seconds per real second (default 600: a 10-hour day in a minute)")
    general.add_argument("--start-at", help="simulated clock of every campaign, ISO 8601, Vietnam time if no zone "
                                            "(default: the create time)")
    general.add_argument("--no-dialing", dest="dialing_enabled", action="store_const", const=False,
                         help="take and record campaigns but call nobody and deliver nothing (load tests)")
    general.add_argument("--lines", type=int, help="calls of one campaign at once (default 10)")
    general.add_argument("--retry-interval-seconds", type=float,
                         help="simulated seconds before an unanswered contact is called again (default 1800)")
    general.add_argument("--account-status", choices=("ok", "low_balance", "expired"),
                         help="low_balance: every call fails 103; expired: every call fails 105")
    general.add_argument("--delivery-max-attempts", type=int, help="tries per delivery (default 6)")
    general.add_argument("--delivery-backoff-seconds", type=float,
                         help="wait before the first retry of a delivery, doubled after each (default 0.5)")
    faults = parser.add_argument_group("create faults (shares of create requests)")
    faults.add_argument("--http-500-rate", type=float, help="answer HTTP 500, create nothing")
    faults.add_argument("--error-400-rate", type=float, help="answer error 400, create nothing")
    faults.add_argument("--hang-rate", type=float, help="create the campaign, then hold the answer")
    faults.add_argument("--hang-seconds", type=float, help="how long a held answer is held (default 30)")
    faults.add_argument("--latency-seconds", type=float, help="added before every create answer")
    chaos = parser.add_argument_group("delivery chaos (shares)")
    chaos.add_argument("--duplicate-rate", type=float, help="deliveries sent twice")
    chaos.add_argument("--out-of-order-rate", type=float, help="deliveries held back past the next one")
    chaos.add_argument("--malformed-rate", type=float, help="deliveries whose body is cut short")
    chaos.add_argument("--lowercase-disposition-rate", type=float, help="call history records in lower case")
    chaos.add_argument("--unknown-status-rate", type=float, help="attempts ending with an unlisted status code")
    parser.set_defaults(handler=_run)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """The config file (or the default), then every option given on the command line."""
    config = load_config(args.config)
    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for option, (section, name) in _OPTIONS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if section is None:
            top[name] = value
        else:
            sections.setdefault(section, {})[name] = value
    if args.webhook_header:
        headers = dict(config.delivery.headers)
        for item in args.webhook_header:
            name, sep, value = item.partition(":")
            if not sep or not name.strip():
                raise SystemExit(f"--webhook-header needs NAME:VALUE, got {name.strip() or item!r}")
            headers[name.strip()] = value.strip()
        sections.setdefault("delivery", {})["headers"] = headers
    return config.with_changes(**top, **sections)


def _run(args: argparse.Namespace) -> int:
    from vbotflow_dev.simulator.server import SimulatorServer  # Flask only when the simulator really runs

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # urllib3's debug lines carry the webhook URL, whose query may hold the receiver's token.
    logging.getLogger("urllib3").setLevel(max(logging.INFO, logging.getLogger().level))
    config = config_from_args(args)
    server = SimulatorServer(config, args.host, args.port)
    logging.getLogger(__name__).info(
        "VBot simulator at %s: seed %s, time scale %s, %d template(s), webhook %s", server.base_url, config.seed,
        config.dialing.time_scale, len(config.templates), "set" if config.delivery.webhook_url else "none")
    signal.signal(signal.SIGTERM, _interrupt)  # `make down` and process managers stop it like Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
