"""``call_attempt`` joined to ``campaign_run`` and ``campaign_contact`` → ``contact_outcome``.

Grain: one row per contact per campaign (per ``campaign_contact`` row of a created run).
The rule: any ANSWER (200) wins; otherwise the latest attempt's status decides (ties on the time:
the attempt parsed last). A contact without attempts is ``missing`` once ``missing_after_hours``
have passed since its campaign was sent, ``pending`` before.

Incremental by default, and exactly what a rebuild gives (a test holds it to that). Each created
run whose outcomes are built has a row in ``contact_outcome_run``: the highest ``call_attempt_id``
its outcomes count. A refresh of a date range, in one transaction,

- builds the runs without such a row whole (new runs, runs created late),
- recomputes only the contacts of runs in the range with attempts past their run's mark,
- lets the clock turn ``pending`` into ``missing`` (or back, if ``missing_after_hours`` changed)
  on the rows without attempts, the only ones the clock alone can change,
- drops the outcomes of runs no longer created, and moves every run's mark to the newest attempt.

So an hourly run costs what the new attempts cost, not what the day holds. ``full`` rebuilds the
range (delete + INSERT … SELECT), as before. The refresh holds a SHARE lock on ``call_attempt``
(PostgreSQL) or the write lock (SQLite): no attempt is being inserted while it reads the newest id,
so no attempt with a lower id can commit after it and be skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from vbotflow.store.money import hundredths
from vbotflow.store.tables import call_attempt, campaign_contact, campaign_run, contact_outcome, contact_outcome_run
from vbotflow.vbot.status import ANSWERED
from vbotflow.vbot.timestamps import vietnam_days_in_utc

log = logging.getLogger(__name__)

DEFAULT_MISSING_AFTER_HOURS = 24

# PostgreSQL's work_mem for the refresh's transaction, and while whole runs are built.
_WORK_MEM = "64MB"
_WORK_MEM_WHOLE_RUNS = "256MB"

OUTCOME_COLUMNS = [
    "campaign_contact_id", "run_key", "config_name", "run_date", "crm_contact_id", "phone", "vbot_campaign_id",
    "outcome", "final_status_code", "attempts", "first_called_at", "last_called_at", "talk_seconds", "postage",
    "service_charge", "total_cost", "is_answered", "updated_at"]


@dataclass(frozen=True)
class _Scope:
    """Which contacts an outcome SELECT covers, and which attempts it reads for them.

    With ``keys`` (a table of campaign/phone keys), both are read through it: a join that starts at
    the few keys, so the indexes lead from them to their contacts and attempts.
    """

    contacts: ColumnElement  # over campaign_contact and campaign_run
    attempts: ColumnElement  # over call_attempt
    keys: sa.Table | None = None
    # PostgreSQL: each contact's attempts summed and ranked in a LATERAL subquery, one probe of the
    # identity index per key; a plain join would read every attempt of the table once the keys
    # are a few thousand, the plan the planner prefers and a cost that grows with the history.
    lateral: bool = False
    # PostgreSQL, whole runs: the attempts grouped by key, the latest status an ordered aggregate
    # (one sort, no window buffering every attempt: 1 s less on a day of a million).
    grouped: bool = False


def _attempt_totals() -> dict[str, sa.FunctionElement]:
    """A contact's attempts summed (aggregates over ``call_attempt``, by name): the one definition
    the full rebuild and the incremental refresh both use."""
    a = call_attempt
    answered = sa.case((a.c.status_code == ANSWERED, 1), else_=0)
    return {
        "attempts": sa.func.count(),
        "first_called_at": sa.func.min(a.c.called_at),
        "last_called_at": sa.func.max(a.c.called_at),
        "talk": sa.func.sum(sa.case((a.c.status_code == ANSWERED, a.c.duration_seconds), else_=0)),
        "postage_h": sa.func.sum(hundredths(a.c.postage)),
        "service_h": sa.func.sum(hundredths(a.c.service_charge)),
        "answered": sa.func.max(answered),
    }


def _outcome_select(scope: _Scope, now: datetime, missing_after_hours: float) -> sa.Select:
    """The outcome rows of the contacts in ``scope``: one INSERT … SELECT's worth."""
    cc, run, a, k = campaign_contact, campaign_run, call_attempt, scope.keys
    attempts_from = a if k is None else k.join(a, sa.and_(a.c.vbot_campaign_id == k.c.vbot_campaign_id,
                                                          a.c.phone == k.c.phone))
    contacts_from = cc.join(run, run.c.run_key == cc.c.run_key) if k is None else (
        k.join(cc, cc.c.campaign_contact_id == k.c.campaign_contact_id).join(run, run.c.run_key == cc.c.run_key))
    # ``last``: per contact key, its attempts' totals and its latest attempt's status.
    if scope.lateral and k is not None:
        last = _lateral_totals_and_last(k)
    elif scope.grouped:
        key = (a.c.vbot_campaign_id, a.c.phone)
        last = (sa.select(*key, *_totals_and_last()).select_from(attempts_from).where(scope.attempts)
                .group_by(*key).subquery("grouped"))
    else:
        # Elsewhere (no ordered aggregates): one pass over the attempts, sorted once per key, latest
        # first; every row carries its key's totals (windows over the whole key) and its rank, and
        # the first row of each key is kept. A GROUP BY for the totals next to the ranking read and
        # sorted or hashed the attempts twice.
        key = (a.c.vbot_campaign_id, a.c.phone)
        latest_first = (a.c.called_at.desc(), a.c.call_attempt_id.desc())
        last = (
            sa.select(
                a.c.vbot_campaign_id, a.c.phone, a.c.status_code, a.c.status_class,
                *(total.over(partition_by=key, order_by=latest_first, rows=(None, None)).label(name)
                  for name, total in _attempt_totals().items()),
                sa.func.row_number().over(partition_by=key, order_by=latest_first).label("rn"),
            )
            .select_from(attempts_from)
            .where(scope.attempts)
            .subquery("ranked")
        )
    is_answered = sa.func.coalesce(last.c.answered, 0) == 1
    missing_since = now - timedelta(hours=missing_after_hours)
    outcome = sa.case(
        (is_answered, sa.literal("answered")),
        (last.c.status_class.is_not(None), last.c.status_class),
        (run.c.sent_at <= missing_since, sa.literal("missing")),
        else_=sa.literal("pending"),
    )
    postage_h = sa.func.coalesce(last.c.postage_h, 0)
    service_h = sa.func.coalesce(last.c.service_h, 0)
    select = (
        sa.select(
            cc.c.campaign_contact_id, cc.c.run_key, cc.c.config_name, cc.c.run_date, cc.c.crm_contact_id,
            cc.c.phone, run.c.vbot_campaign_id, outcome,
            sa.case((is_answered, ANSWERED), else_=last.c.status_code),
            sa.func.coalesce(last.c.attempts, 0), last.c.first_called_at, last.c.last_called_at,
            sa.func.coalesce(last.c.talk, 0), postage_h / 100.0, service_h / 100.0, (postage_h + service_h) / 100.0,
            is_answered, sa.literal(now, sa.DateTime(timezone=True)),
        )
        .select_from(contacts_from)
        .where(scope.contacts)
    )
    if scope.lateral:
        return select.outerjoin(last, sa.true())
    of_contact = sa.and_(last.c.vbot_campaign_id == run.c.vbot_campaign_id, last.c.phone == cc.c.phone)
    return select.outerjoin(last, of_contact if scope.grouped else sa.and_(of_contact, last.c.rn == 1))


def _lateral_totals_and_last(keys: sa.Table) -> sa.Lateral:
    """Per key, in one probe: its attempts summed, and its latest attempt's status (the same rules as
    the joins above: the latest call, ties to the attempt parsed last)."""
    a = call_attempt
    of_key = sa.and_(a.c.vbot_campaign_id == keys.c.vbot_campaign_id, a.c.phone == keys.c.phone)
    return sa.select(*_totals_and_last()).where(of_key).lateral("totals")


def _totals_and_last() -> list[ColumnElement]:
    """PostgreSQL: a key's attempts summed and its latest attempt's status, as aggregates."""
    a = call_attempt
    latest_first = (a.c.called_at.desc(), a.c.call_attempt_id.desc())
    return [
        *(total.label(name) for name, total in _attempt_totals().items()),
        sa.func.array_agg(aggregate_order_by(a.c.status_code, *latest_first))[1].label("status_code"),
        sa.func.array_agg(aggregate_order_by(a.c.status_class, *latest_first))[1].label("status_class"),
    ]


def _insert_outcomes(conn: sa.Connection, scope: _Scope, now: datetime, missing_after_hours: float) -> int:
    statement = contact_outcome.insert().from_select(OUTCOME_COLUMNS, _outcome_select(scope, now, missing_after_hours))
    return conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount


def _runs_in_range(date_from: date, date_to: date) -> ColumnElement:
    run = campaign_run
    return sa.and_(run.c.run_date >= date_from, run.c.run_date <= date_to)


def _lock_attempts(conn: sa.Connection) -> None:
    """No call attempt is being inserted from here to the commit (see the module's docstring)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"SET LOCAL work_mem = '{_WORK_MEM}'"))  # the recompute's sorts stay in memory
        # The recompute's estimated cost (a probe per touched contact) is above JIT's thresholds:
        # compiling it took 0.28 s of an hourly refresh's 0.8 s, before the first row (as in the parse).
        conn.execute(sa.text("SET LOCAL jit = off"))
        conn.execute(sa.text("LOCK TABLE call_attempt IN SHARE MODE"))
    else:
        # SQLite: a write takes the database's write lock at once, before anything is read.
        conn.execute(contact_outcome_run.delete().where(sa.false()))


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh wrote: whole runs built, contacts recomputed, rows the clock changed."""

    runs_built: int
    contacts_built: int
    contacts_recomputed: int
    clock_changed: int
    runs_dropped: int


def refresh_outcomes(engine: Engine, date_from: date, date_to: date, *,
                     missing_after_hours: float = DEFAULT_MISSING_AFTER_HOURS, now: datetime | None = None,
                     full: bool = False) -> int:
    """Bring the outcomes of the campaign runs dated ``date_from``..``date_to`` up to date.

    Returns the outcome rows written (built, recomputed or changed by the clock). ``full`` rebuilds
    every outcome of the range from the attempts.
    """
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        result = _refresh(conn, date_from, date_to, missing_after_hours, now, full)
    log.info("Outcomes of the campaign runs dated %s to %s %s: %d run(s) built whole (%d contact(s)), "
             "%d contact(s) with new attempts recomputed, %d turned pending/missing by the clock, "
             "%d run(s) no longer created dropped", date_from, date_to, "rebuilt" if full else "refreshed",
             result.runs_built, result.contacts_built, result.contacts_recomputed, result.clock_changed,
             result.runs_dropped)
    return result.contacts_built + result.contacts_recomputed + result.clock_changed


def _refresh(conn: sa.Connection, date_from: date, date_to: date, missing_after_hours: float, now: datetime,
             full: bool) -> RefreshResult:
    cc, run, a, co, mark = campaign_contact, campaign_run, call_attempt, contact_outcome, contact_outcome_run
    _lock_attempts(conn)
    newest = conn.execute(sa.select(sa.func.coalesce(sa.func.max(a.c.call_attempt_id), 0))).scalar_one()
    in_range = _runs_in_range(date_from, date_to)
    co_in_range = sa.and_(co.c.run_date >= date_from, co.c.run_date <= date_to)
    marked = sa.select(mark.c.run_key).where(mark.c.run_key == run.c.run_key).exists()

    if full:
        conn.execute(co.delete().where(co_in_range))
        conn.execute(mark.delete().where(mark.c.run_key.in_(sa.select(run.c.run_key).where(in_range))))
        dropped = 0
    else:
        # Runs whose outcomes are built but which are no longer created: their rows go.
        gone = sa.select(run.c.run_key).where(in_range, run.c.state != "created", marked)
        dropped = conn.execute(mark.delete().where(mark.c.run_key.in_(gone))).rowcount
        if dropped:
            conn.execute(co.delete().where(co_in_range, co.c.run_key.in_(gone)))

    # Created runs without a mark: built whole (after dropping whatever rows they had).
    unbuilt = sa.select(run.c.run_key).where(in_range, run.c.state == "created", ~marked)
    unbuilt_keys = [k for (k,) in conn.execute(unbuilt)]
    built_contacts = 0
    if unbuilt_keys:
        new_runs = run.c.run_key.in_(unbuilt_keys)
        campaigns = sa.select(run.c.vbot_campaign_id).where(new_runs)
        if not full:
            conn.execute(co.delete().where(co.c.campaign_contact_id.in_(
                sa.select(cc.c.campaign_contact_id).where(cc.c.run_key.in_(unbuilt_keys)))))
        postgresql = conn.dialect.name == "postgresql"
        if postgresql:
            # The sort of whole runs' attempts (a day of a million: about 130 MB) stays in memory,
            # not on disk; the recompute below goes back to the smaller setting its plans were chosen with.
            conn.execute(sa.text(f"SET LOCAL work_mem = '{_WORK_MEM_WHOLE_RUNS}'"))
        whole_runs = _Scope(contacts=new_runs, attempts=a.c.vbot_campaign_id.in_(campaigns), grouped=postgresql)
        built_contacts = _insert_outcomes(conn, whole_runs, now, missing_after_hours)
        if postgresql:
            conn.execute(sa.text(f"SET LOCAL work_mem = '{_WORK_MEM}'"))

    recomputed = clock = 0
    if not full:
        recomputed = _recompute_touched(conn, date_from, date_to, newest, now, missing_after_hours,
                                        exclude=unbuilt_keys)
        clock = _apply_the_clock(conn, date_from, date_to, now, missing_after_hours)

    # Every created run of the range now counts every attempt up to ``newest``.
    created = sa.select(run.c.run_key).where(in_range, run.c.state == "created")
    conn.execute(mark.delete().where(mark.c.run_key.in_(created)))
    conn.execute(mark.insert().from_select(
        ["run_key", "through_attempt_id", "refreshed_at"],
        sa.select(run.c.run_key, sa.literal(newest, sa.BigInteger), sa.literal(now, sa.DateTime(timezone=True)))
        .where(in_range, run.c.state == "created")))
    return RefreshResult(len(unbuilt_keys), built_contacts, recomputed, clock, dropped)


def _recompute_touched(conn: sa.Connection, date_from: date, date_to: date, newest: int, now: datetime,
                       missing_after_hours: float, *, exclude: list[str]) -> int:
    """Recompute the contacts of built runs that have attempts past their run's mark."""
    run, a, co, mark = campaign_run, call_attempt, contact_outcome, contact_outcome_run
    built = sa.and_(_runs_in_range(date_from, date_to), run.c.state == "created",
                    run.c.run_key.not_in(exclude) if exclude else sa.true())
    since = conn.execute(sa.select(sa.func.min(mark.c.through_attempt_id))
                         .select_from(run.join(mark, mark.c.run_key == run.c.run_key)).where(built)).scalar()
    if since is None or since >= newest:
        return 0
    # The contacts (and their keys: campaign, phone) with attempts past their run's mark, found once
    # and kept in a temporary table: the recompute below reads the attempts of these keys only,
    # through the identity index.
    cc = campaign_contact
    touched = sa.Table("touched_contact", sa.MetaData(), sa.Column("campaign_contact_id", sa.BigInteger),
                       sa.Column("vbot_campaign_id", sa.BigInteger), sa.Column("phone", sa.String(32)),
                       prefixes=["TEMPORARY"])
    touched.drop(conn, checkfirst=True)
    touched.create(conn)
    try:
        conn.execute(touched.insert().from_select(
            ["campaign_contact_id", "vbot_campaign_id", "phone"],
            sa.select(cc.c.campaign_contact_id, a.c.vbot_campaign_id, a.c.phone).distinct()
            .select_from(a.join(run, run.c.vbot_campaign_id == a.c.vbot_campaign_id)
                         .join(mark, mark.c.run_key == run.c.run_key)
                         .join(cc, sa.and_(cc.c.run_key == run.c.run_key, cc.c.phone == a.c.phone)))
            .where(a.c.call_attempt_id > since, a.c.call_attempt_id <= newest,
                   a.c.call_attempt_id > mark.c.through_attempt_id, built)))
        postgresql = conn.dialect.name == "postgresql"
        if postgresql:
            conn.execute(sa.text("ANALYZE touched_contact"))
            # From the touched contacts, by primary key, to their outcomes, contacts and runs: the
            # planner would rather hash all of the range's outcomes and contacts once the touched
            # are a few thousand, a cost that grows with the day instead of with the new attempts.
            conn.execute(sa.text("SET LOCAL enable_hashjoin = off"))
            conn.execute(sa.text("SET LOCAL enable_mergejoin = off"))
        conn.execute(co.delete().where(co.c.campaign_contact_id.in_(sa.select(touched.c.campaign_contact_id))))
        written = _insert_outcomes(conn, _Scope(contacts=built, attempts=sa.true(), keys=touched, lateral=postgresql),
                                   now, missing_after_hours)
        if postgresql:
            conn.execute(sa.text("SET LOCAL enable_hashjoin = on"))
            conn.execute(sa.text("SET LOCAL enable_mergejoin = on"))
        return written
    finally:
        touched.drop(conn)


def _apply_the_clock(conn: sa.Connection, date_from: date, date_to: date, now: datetime,
                     missing_after_hours: float) -> int:
    """Outcomes without attempts follow the clock: ``missing`` once the grace time has passed."""
    run, co = campaign_run, contact_outcome
    missing_since = now - timedelta(hours=missing_after_hours)
    due = sa.select(run.c.run_key).where(_runs_in_range(date_from, date_to), run.c.sent_at <= missing_since)
    not_due = sa.select(run.c.run_key).where(_runs_in_range(date_from, date_to),
                                             sa.or_(run.c.sent_at.is_(None), run.c.sent_at > missing_since))
    changed = 0
    for outcome, runs in (("missing", due), ("pending", not_due)):
        changed += conn.execute(co.update().where(co.c.attempts == 0, co.c.run_key.in_(runs), co.c.outcome != outcome)
                                .values(outcome=outcome, updated_at=now)).rowcount
    return changed


def orphan_attempts(engine: Engine, date_from: date, date_to: date) -> list[dict]:
    """Attempts (called in the date range, Vietnam days) that match no contact this project sent."""
    a, run, cc = call_attempt, campaign_run, campaign_contact
    start, end = vietnam_days_in_utc(date_from, date_to)
    matched = (sa.select(sa.literal(1)).select_from(cc.join(run, run.c.run_key == cc.c.run_key))
               .where(run.c.vbot_campaign_id == a.c.vbot_campaign_id, cc.c.phone == a.c.phone))
    query = (sa.select(a.c.call_attempt_id, a.c.vbot_campaign_id, a.c.phone, a.c.called_at, a.c.status_code,
                       a.c.source, a.c.event_id)
             .where(a.c.called_at >= start, a.c.called_at < end, ~sa.exists(matched))
             .order_by(a.c.called_at))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
