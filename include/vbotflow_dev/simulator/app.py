"""The simulator's HTTP face: VBot's endpoints, and ``/_sim/`` for tests and the demo to look inside."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from vbotflow_dev.simulator.auth import GrantError
from vbotflow_dev.simulator.core import Simulator, invalid_answer
from vbotflow_dev.simulator.history import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, query_history

vbot = Blueprint("vbot", __name__)
inspect = Blueprint("sim", __name__, url_prefix="/_sim")

UNAUTHORIZED = {"status": 0, "error": 401, "msg": "Unauthorized", "data": "-1"}


def create_app(simulator: Simulator) -> Flask:
    """A Flask app serving ``simulator``."""
    app = Flask(__name__)
    app.config["SIMULATOR"] = simulator
    app.json.sort_keys = False  # keep answers in VBot's field order
    app.json.ensure_ascii = False
    app.register_blueprint(vbot)
    app.register_blueprint(inspect)
    return app


def _sim() -> Simulator:
    return current_app.config["SIMULATOR"]


def _authorized() -> bool:
    return _sim().tokens.is_valid_bearer(request.headers.get("Authorization"))


def _unauthorized() -> tuple[Response, int, dict[str, str]]:
    return jsonify(UNAUTHORIZED), 401, {"WWW-Authenticate": "Bearer"}


# -- VBot ---------------------------------------------------------------------------------------------


@vbot.post("/token")
def token() -> Any:
    if request.mimetype != "application/x-www-form-urlencoded":
        return jsonify(error="invalid_request", error_description="the token request must be form-encoded"), 400
    try:
        grant = _sim().tokens.grant(request.form.to_dict())
    except GrantError as err:
        return jsonify(error=err.code, error_description=str(err)), 400
    return jsonify(access_token=grant.access_token, token_type="bearer", expires_in=grant.expires_in,  # noqa: S106
                   refresh_token=grant.refresh_token)


@vbot.post("/api/campaign/create")
def create_campaign() -> Any:
    if not _authorized():
        return _unauthorized()
    status, answer = _sim().create_campaign(request.get_data())
    return jsonify(answer), status


@vbot.get("/api/crm/historycall/getAll")
def history_call_get_all() -> Any:
    if not _authorized():
        return _unauthorized()
    args = request.args
    vbot_id = args.get("vbot_id", "")
    if vbot_id not in _sim().config.accounts.vbot_ids:
        return jsonify(invalid_answer("vbot_id is not a known account"))
    try:
        page = int(args.get("page") or 1)
        size = int(args.get("size") or DEFAULT_PAGE_SIZE)
    except ValueError:
        return jsonify(invalid_answer("page and size must be whole numbers"))
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        return jsonify(invalid_answer(f"page must be at least 1 and size between 1 and {MAX_PAGE_SIZE}"))
    return jsonify(query_history(_sim().state, vbot_id=vbot_id, project_code=args.get("project_code", ""),
                                 phone=args.get("phone", ""), page=page, size=size))


# -- inspection -----------------------------------------------------------------------------------------


@inspect.get("/creates")
def creates() -> Any:
    """Every create request, in arrival order: fault, answer, body."""
    return jsonify(_sim().state.create_list())


@inspect.get("/campaigns")
def campaigns() -> Any:
    """Campaigns created, with the payload received."""
    state = _sim().state
    return jsonify([{**state.campaign_summary(c), "payload": c.payload} for c in state.campaign_list()])


@inspect.get("/campaigns/<int:campaign_id>")
def campaign(campaign_id: int) -> Any:
    state = _sim().state
    found = state.campaign(campaign_id)
    if found is None:
        return jsonify(error=f"no campaign {campaign_id}"), 404
    return jsonify({**state.campaign_summary(found), "payload": found.payload})


@inspect.get("/totals")
def totals() -> Any:
    """Per campaign: attempts, answered, total postage and service charge, deliveries, done."""
    state = _sim().state
    return jsonify({str(c.campaign_id): state.campaign_summary(c) for c in state.campaign_list()})


@inspect.get("/calls")
def calls() -> Any:
    """Every call attempt made so far, as its auto-call history body plus the attempt number."""
    wanted = request.args.get("campaign_id", type=int)
    return jsonify([{"record_id": c.record_id, "attempt": c.call.attempt, **c.autocall_body()}
                    for c in _sim().state.call_list() if wanted is None or c.campaign_id == wanted])


@inspect.get("/deliveries")
def deliveries() -> Any:
    """Every delivery, in the order planned: body, chaos flags, tries and their results."""
    wanted = request.args.get("campaign_id", type=int)
    return jsonify([d.as_dict() for d in _sim().state.delivery_list()
                    if wanted is None or d.campaign_id == wanted])


@inspect.get("/tokens")
def tokens() -> Any:
    """Token grants asked for (type, user, accepted): never the tokens themselves."""
    return jsonify(list(_sim().tokens.grants))


@inspect.get("/idle")
def idle() -> Any:
    """Whether all dialing and deliveries are done; ``?wait=S`` waits up to S seconds for it."""
    wait = min(request.args.get("wait", default=0.0, type=float), 300.0)
    is_idle = _sim().wait_idle(timeout=wait)
    return jsonify(idle=is_idle, pending_jobs=_sim().dispatcher.pending)


@inspect.post("/reset")
def reset() -> Any:
    """Forget everything but the tokens; campaign ids start again."""
    _sim().reset()
    return jsonify(reset=True)
