"""The ``campaign_run`` outbox: exactly one VBot campaign per chunk, even across retries and reruns.

VBot's create API has no idempotency key, so the row is committed as ``sending`` *before* the POST
and records the outcome after it. States::

    pending ──▶ sending ──▶ created            (the id is stored; later attempts send nothing)
                   │ └────▶ failed             (VBot said no, or never got the body: may be re-sent)
                   └──────▶ ambiguous          (the body may have arrived: a person resolves it)

A row found in ``sending`` means an attempt died mid-POST: it is treated like ``ambiguous``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from vbotflow.store.tables import RESOLVE_CHANNELS, campaign_run, resolve_audit

RESOLVE_HINT = ("vbotflow campaign resolve {run_key} (--created VBOT_CAMPAIGN_ID | --not-created), or resolve it "
                "in the Airflow UI: VBot → Ambiguous runs")
SENDABLE_STATES = ("pending", "failed")
IN_FLIGHT_STATES = ("sending", "ambiguous")
# Runs whose contacts were (or may have been) handed to VBot: they count for the frequency cap.
SENT_STATES = ("sending", "created", "ambiguous")


class OutboxError(Exception):
    """A campaign run cannot be sent as asked."""


class CampaignInFlightError(OutboxError):
    """An earlier attempt may have created the campaign; a person must resolve the row."""


class PayloadChangedError(OutboxError):
    """The same run key was sent before with different data."""


class ResolveError(OutboxError):
    """A resolve command does not fit the row's state."""


class UnknownRunError(ResolveError):
    """No campaign run has that key."""


class BadCampaignIdError(ResolveError):
    """The VBot campaign id given is not one."""


def make_run_key(config_name: str, run_date: date, chunk_number: int) -> str:
    """Deterministic key of one chunk: ``<config>/<yyyy-mm-dd>/<chunk, 3 digits>``."""
    return f"{config_name}/{run_date.isoformat()}/{chunk_number:03d}"


def config_of_run_key(run_key: str) -> str:
    """The config name a run key starts with (``make_run_key`` puts it before the date and chunk)."""
    return run_key.rsplit("/", 2)[0]


@dataclass(frozen=True)
class ChunkSpec:
    """What one create call will send, minus the contacts themselves."""

    config_name: str
    run_date: date
    chunk_number: int
    template_id: int
    campaign_name: str
    phone_count: int
    payload_sha256: str

    @property
    def run_key(self) -> str:
        return make_run_key(self.config_name, self.run_date, self.chunk_number)


def _now() -> datetime:
    return datetime.now(UTC)


def get_run(engine: Engine, run_key: str) -> dict[str, Any] | None:
    """The row of ``run_key`` as a dict, or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(campaign_run).where(campaign_run.c.run_key == run_key)).mappings().first()
    return dict(row) if row else None


def new_row(spec: ChunkSpec, state: str, now: datetime | None = None) -> dict[str, Any]:
    """A campaign_run row for ``spec`` in ``state`` (``pending`` or ``sending``)."""
    now = now or _now()
    return {
        "run_key": spec.run_key,
        "config_name": spec.config_name,
        "run_date": spec.run_date,
        "chunk_number": spec.chunk_number,
        "template_id": spec.template_id,
        "campaign_name": spec.campaign_name,
        "phone_count": spec.phone_count,
        "payload_sha256": spec.payload_sha256,
        "state": state,
        "attempts": 1 if state == "sending" else 0,
        "created_at": now,
        "updated_at": now,
        "sent_at": now if state == "sending" else None,
    }


def _existing_campaign(row: dict[str, Any], spec: ChunkSpec) -> int | None:
    """The VBot campaign id of a ``created`` row; None for a sendable one; raises for the rest."""
    _check_same_payload(row, spec)
    if row["state"] == "created":
        return int(row["vbot_campaign_id"])
    if row["state"] in IN_FLIGHT_STATES:
        raise CampaignInFlightError(_in_flight_message(row))
    return None


def created_campaign_id(engine: Engine, spec: ChunkSpec) -> int | None:
    """Look, without taking anything: the stored id when the chunk was created, None when it would
    have to be sent. Raises as ``claim_for_send`` does when sending could duplicate a campaign."""
    row = get_run(engine, spec.run_key)
    return None if row is None else _existing_campaign(row, spec)


def unsent_chunks(engine: Engine, config_name: str, run_date: date) -> int:
    """How many chunks of a day are not ``created``: what a run of that day would still have to send."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(campaign_run).where(
                campaign_run.c.config_name == config_name, campaign_run.c.run_date == run_date,
                campaign_run.c.state != "created")).scalar_one()


def claim_for_send(engine: Engine, spec: ChunkSpec) -> int | None:
    """Take the right to POST this chunk, or learn it was created already.

    Returns the stored VBot campaign id when the row is ``created`` (send nothing), or None when
    the caller now holds the row in ``sending`` and must POST. Raises when sending would risk a
    second campaign or the data changed.
    """
    for _ in range(3):  # lost races with a concurrent attempt look again
        # A sendable row is taken in one statement; only when none is taken is the row read, to
        # learn why. New data may replace a pending or failed row's: it never reached VBot.
        with engine.begin() as conn:
            taken = conn.execute(
                campaign_run.update()
                .where(campaign_run.c.run_key == spec.run_key, campaign_run.c.state.in_(SENDABLE_STATES))
                .values(
                    state="sending",
                    payload_sha256=spec.payload_sha256,
                    phone_count=spec.phone_count,
                    campaign_name=spec.campaign_name,
                    template_id=spec.template_id,
                    attempts=campaign_run.c.attempts + 1,
                    sent_at=_now(),
                    updated_at=_now(),
                )
            ).rowcount
        if taken == 1:
            return None
        row = get_run(engine, spec.run_key)
        if row is None:
            try:
                with engine.begin() as conn:
                    conn.execute(campaign_run.insert().values(**new_row(spec, "sending")))
                return None
            except IntegrityError:
                continue
        existing = _existing_campaign(row, spec)
        if existing is not None:
            return existing
    raise CampaignInFlightError(f"campaign run {spec.run_key} is being sent by another attempt")


def _check_same_payload(row: dict[str, Any], spec: ChunkSpec) -> None:
    # Pending and failed rows never reached VBot: new data may replace them safely.
    if row["state"] in SENDABLE_STATES or row["payload_sha256"] == spec.payload_sha256:
        return
    raise PayloadChangedError(
        f"campaign run {spec.run_key} is {row['state']} with payload sha256 {row['payload_sha256'][:12]}…, "
        f"but this attempt carries {spec.payload_sha256[:12]}… ({spec.phone_count} phones): the data "
        "changed since the campaign was sent. Nothing was sent. Use a new logical date or chunk, "
        "or resolve the existing run first."
    )


def _in_flight_message(row: dict[str, Any]) -> str:
    return (
        f"campaign run {row['run_key']} is {row['state']}: an earlier attempt sent campaign "
        f"{row['campaign_name']!r} and its outcome is unknown, so nothing was sent again. Check VBot "
        f"for that campaign name, then run: {RESOLVE_HINT.format(run_key=row['run_key'])}"
    )


def _finish(engine: Engine, run_key: str, from_states: Iterable[str], **values: Any) -> int:
    with engine.begin() as conn:
        return conn.execute(
            campaign_run.update()
            .where(campaign_run.c.run_key == run_key, campaign_run.c.state.in_(tuple(from_states)))
            .values(updated_at=_now(), **values)
        ).rowcount


def mark_created(engine: Engine, run_key: str, vbot_campaign_id: int, error_code: int | None = None,
                 message: str | None = None) -> None:
    """The POST was answered with a campaign id."""
    _finish(engine, run_key, ["sending"], state="created", vbot_campaign_id=vbot_campaign_id,
            error_code=error_code, error_message=message)


def mark_failed(engine: Engine, run_key: str, error_code: int | None, message: str) -> None:
    """VBot answered that no campaign was created, or the body never left: may be sent again."""
    _finish(engine, run_key, ["sending"], state="failed", error_code=error_code, error_message=message)


def mark_ambiguous(engine: Engine, run_key: str, message: str) -> None:
    """The body may have reached VBot and no answer came: never re-sent automatically."""
    _finish(engine, run_key, ["sending"], state="ambiguous", error_message=message)


def resolve(engine: Engine, run_key: str, *, created_id: int | None, resolved_by: str,
            via: str = "cli") -> dict[str, Any]:
    """A person's verdict on an in-flight row: the campaign exists (with its id) or it does not.

    The row's change and its ``resolve_audit`` row (who, when, what, the row before) are one
    transaction: the CLI and the console both come through here, so neither can skip the audit.
    """
    if not resolved_by or not resolved_by.strip():
        raise ResolveError("a resolve must name who made it")
    if via not in RESOLVE_CHANNELS:
        raise ResolveError(f"unknown resolve channel {via!r}; one of {', '.join(RESOLVE_CHANNELS)}")
    row = get_run(engine, run_key)
    if row is None:
        raise UnknownRunError(f"no campaign run {run_key!r}")
    if created_id is not None:
        if created_id <= 0:
            raise BadCampaignIdError(f"a VBot campaign id is a positive integer, got {created_id}")
        allowed = (*IN_FLIGHT_STATES, "failed")
        values: dict[str, Any] = {"state": "created", "vbot_campaign_id": created_id}
    else:
        allowed = IN_FLIGHT_STATES
        values = {"state": "failed", "error_message": "resolved by a person: not created at VBot"}
    if row["state"] not in allowed:
        raise ResolveError(
            f"campaign run {run_key} is {row['state']}; only a run in {', '.join(allowed)} can be "
            f"resolved as {'created' if created_id is not None else 'not created'}"
        )
    now = _now()
    with engine.begin() as conn:
        changed = conn.execute(
            campaign_run.update()
            .where(campaign_run.c.run_key == run_key, campaign_run.c.state == row["state"])
            .values(updated_at=now, resolved_by=resolved_by, **values)
        ).rowcount
        if changed != 1:
            raise ResolveError(f"campaign run {run_key} changed while resolving; look again")
        conn.execute(resolve_audit.insert().values(
            run_key=run_key,
            verdict="created" if created_id is not None else "not_created",
            vbot_campaign_id=created_id,
            state_before=row["state"],
            vbot_campaign_id_before=row["vbot_campaign_id"],
            error_message_before=row["error_message"],
            state_after=values["state"],
            resolved_by=resolved_by,
            resolved_via=via,
            resolved_at=now,
        ))
    return get_run(engine, run_key) or {}


def resolve_history(engine: Engine, run_keys: Iterable[str] | None = None, limit: int | None = None
                    ) -> list[dict[str, Any]]:
    """Audit rows of resolves, newest first: of ``run_keys``, or of every run."""
    query = sa.select(resolve_audit).order_by(resolve_audit.c.resolved_at.desc(),
                                              resolve_audit.c.resolve_audit_id.desc())
    if run_keys is not None:
        query = query.where(resolve_audit.c.run_key.in_(list(run_keys)))
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def chunk_positions(engine: Engine, names: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[date, int]]:
    """(config, campaign name) → (run date, chunk number) of the runs so named (names differ within a day)."""
    names = set(names)
    if not names:
        return {}
    query = (sa.select(campaign_run.c.config_name, campaign_run.c.campaign_name, campaign_run.c.run_date,
                       campaign_run.c.chunk_number)
             .where(sa.tuple_(campaign_run.c.config_name, campaign_run.c.campaign_name).in_(sorted(names))))
    with engine.connect() as conn:
        return {(config, name): (day, chunk) for config, name, day, chunk in conn.execute(query)}


def list_runs(engine: Engine, *, state: str | None = None, config_name: str | None = None,
              run_date: date | None = None, config_names: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Campaign runs, newest day first, optionally filtered (``config_names``: only these configs)."""
    query = sa.select(campaign_run).order_by(campaign_run.c.run_date.desc(), campaign_run.c.run_key)
    if state:
        query = query.where(campaign_run.c.state == state)
    if config_name:
        query = query.where(campaign_run.c.config_name == config_name)
    if config_names is not None:
        query = query.where(campaign_run.c.config_name.in_(sorted(config_names)))
    if run_date:
        query = query.where(campaign_run.c.run_date == run_date)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def latest_run_date(engine: Engine, config_names: Collection[str] | None = None) -> date | None:
    """The newest day with a campaign run (of ``config_names``), or None."""
    query = sa.select(sa.func.max(campaign_run.c.run_date))
    if config_names is not None:
        query = query.where(campaign_run.c.config_name.in_(sorted(config_names)))
    with engine.connect() as conn:
        value = conn.execute(query).scalar()
    # SQLite hands back the ISO text of a MAX() over a DATE column.
    return date.fromisoformat(value) if isinstance(value, str) else value

