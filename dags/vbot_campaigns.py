"""One DAG per campaign config in include/campaigns/*.yaml: the day's CRM list → VBot campaigns.

dag_id ``vbot_campaign__<name>``. Parsing reads the YAML files only: no database, no network,
no pandas at the top level.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import CronTriggerTimetable, Param, TriggerRule, dag, get_current_context, task

from vbot_provider.assets import CAMPAIGNS_CREATED
from vbot_provider.notifiers import failure_alert
from vbot_provider.operators.window import CallingWindowSensor
from vbotflow.campaigns.config import CampaignConfig, load_configs

DOC = """
### `{name}`: {description}

**Triggering or unpausing this DAG creates VBot campaigns**: VBot calls the customers on the list
as soon as a campaign is created, inside the calling window. To look at a list without sending
anything, trigger **`vbot_preview`** and pick `{name}` in its form.

Every day at `{schedule}` (Asia/Ho\\_Chi\\_Minh time) this DAG

1. **build\\_list** — runs `{sql}` on connection `{crm}` (bound parameters only), cleans the list
   (phones → `0xxxxxxxxx`, CRM do-not-call, the suppression table, required fields
   {required}, duplicates, the {cap} h frequency cap) and records it: accepted contacts in
   `campaign_contact`, one `campaign_run` per chunk of at most {chunk} phones, every other row in
   `rejected_contact` with its reason;
2. **calling\\_window** — waits (deferred, no worker slot) for {start}–{end} Vietnam time; fails if the
   day's window has passed;
3. **create\\_campaign** — one mapped task per chunk (per group of consecutive chunks on a day of more
   than {max_tasks}): VBot template {template}, each chunk exactly once through its own `campaign_run`
   outbox row (a rerun sends nothing new);
4. **summary** — counts, and an update of the `vbotflow_campaigns_created` asset for `vbot_reconcile`.

**Trigger form**: `limit` (at most N CRM rows, a whole number from 1; empty: all), `run_date` (the
day to send; empty: the run's logical date as a Vietnam day, i.e. today for a run triggered now).
A campaign is sent on its own day: a `run_date` after today is refused at once, a past one fails at
the calling window. One run at a time: a run waiting for today's window holds the DAG until it opens.

An `ambiguous` campaign run fails its task with the command that resolves it:
`vbotflow campaign resolve <run_key> --created <id> | --not-created`.
"""


def _run_date(params: dict[str, Any], context: dict[str, Any]) -> Any:
    from vbot_provider.runs import campaign_run_date

    return campaign_run_date(context, params.get("run_date"))


def campaign_params() -> dict[str, Param]:
    """The trigger form. No dry run here: a preview is ``vbot_preview``, a DAG that cannot send."""
    return {
        # exclusiveMinimum, not minimum: the form's number field silently clamps to a minimum (-5
        # would become 1); with no minimum to clamp to, the value is refused when the run is triggered.
        "limit": Param(None, type=["null", "integer"], exclusiveMinimum=0, title="Limit",
                       description="At most this many CRM rows: a whole number, 1 or more. Empty: the whole list."),
        "run_date": Param(None, type=["null", "string"], format="date", title="Run date",
                          description="The day whose list is built and sent; only today can be sent. Empty: "
                                      "the run's logical date as a day in Asia/Ho_Chi_Minh (today for a run "
                                      "triggered now)."),
    }


def build_dag(config: CampaignConfig) -> Any:
    @dag(
        dag_id=config.dag_id,
        description=config.description or f"VBot campaign {config.name}",
        schedule=CronTriggerTimetable(config.schedule, timezone="Asia/Ho_Chi_Minh"),
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["vbot", "campaign", *config.tags],
        default_args={"retries": config.task_retries.count,
                      "retry_delay": timedelta(seconds=config.task_retries.delay_seconds), "owner": "vbotflow",
                      "on_failure_callback": failure_alert},
        doc_md=DOC.format(name=config.name, description=config.description, schedule=config.schedule,
                          sql=config.sql_file.name, crm=config.crm_conn_id,
                          required=", ".join(f"`{f}`" for f in config.required_fields) or "(none)",
                          cap=config.frequency_cap_hours,
                          chunk=config.max_phones_per_campaign, max_tasks=config.max_create_tasks,
                          start=f"{config.window_start:%H:%M}", end=f"{config.window_end:%H:%M}",
                          template=config.template_id),
        params=campaign_params(),
        render_template_as_native_obj=False,
    )
    def campaign() -> None:
        @task
        def build_list(**context: Any) -> list[list[dict[str, Any]]]:
            """Returns the planned chunks in groups, one per create_campaign task; counts go to XCom 'outcome'."""
            from airflow.sdk.exceptions import AirflowFailException

            from vbot_provider.connections import connection_engine, integration_engine
            from vbot_provider.hooks.vbot import VBotHook
            from vbot_provider.run_conf import PREVIEW_HINT, refuse_unknown_conf
            from vbotflow.campaigns.build import build_daily_list, group_chunks
            from vbotflow.campaigns.outbox import PayloadChangedError
            from vbotflow.campaigns.window import future_run_date_problem
            from vbotflow.vbot.timestamps import today_in_vietnam

            params = context["params"]  # validated by the Param schema before the run starts
            refuse_unknown_conf(context["dag_run"].conf, campaign_params(), hint=PREVIEW_HINT)
            run_date = _run_date(params, context)
            if problem := future_run_date_problem(run_date, today_in_vietnam()):
                raise AirflowFailException(problem)  # waiting days for the window would block the DAG
            hook = VBotHook()
            with connection_engine(config.crm_conn_id) as crm, integration_engine() as db:
                try:
                    outcome = build_daily_list(
                        config=config, run_date=run_date, crm_engine=crm, db_engine=db,
                        body_for=lambda name, contacts: hook.build_create_body(
                            config.template_id, name, contacts, group_code=config.group_code),
                        limit=params.get("limit"),
                        interval=(context.get("data_interval_start"), context.get("data_interval_end")),
                    )
                except PayloadChangedError as err:
                    raise AirflowFailException(str(err)) from err  # a retry would find the same data
            context["ti"].xcom_push(key="outcome", value=outcome.as_dict())
            context["ti"].xcom_push(key="run_date", value=outcome.run_date)
            return group_chunks(outcome.chunks, config.max_create_tasks)

        @task(map_index_template="{{ campaigns }}")
        def create_campaign(chunks: list[dict[str, Any]], **context: Any) -> list[int]:
            from vbot_provider.connections import integration_engine
            from vbot_provider.hooks.vbot import VBotHook
            from vbot_provider.operators.vbot import ChunkToCreate, create_campaigns_once
            from vbot_provider.operators.window import fail_unless_window_open
            from vbotflow.campaigns.build import group_label
            from vbotflow.campaigns.list_store import chunk_contacts

            get_current_context()["campaigns"] = group_label(chunks)  # type: ignore[typeddict-unknown-key]
            run_date = _run_date(context["params"], context)
            with integration_engine() as db:
                # The window is asked only for a chunk that would really be sent: a rerun of a created
                # day returns its campaign ids at any hour.
                return create_campaigns_once(
                    hook=VBotHook(), engine=db, config_name=config.name, run_date=run_date,
                    template_id=config.template_id, group_code=config.group_code,
                    chunks=[ChunkToCreate(c["chunk_number"], c["campaign_name"],
                                          lambda key=c["run_key"]: chunk_contacts(db, key)) for c in chunks],
                    before_send=lambda: fail_unless_window_open(run_date, config.window_start, config.window_end),
                )

        # none_failed: an empty list skips create_campaign, and still deserves a summary.
        @task(outlets=[CAMPAIGNS_CREATED], trigger_rule=TriggerRule.NONE_FAILED)
        def summary(**context: Any) -> dict[str, Any]:
            import logging
            from datetime import date

            from vbot_provider.connections import integration_engine
            from vbotflow.campaigns.list_store import day_summary

            log = logging.getLogger("vbotflow.campaigns.summary")
            outcome = context["ti"].xcom_pull(task_ids="build_list", key="outcome")
            with integration_engine() as db:
                result = day_summary(db, config.name, date.fromisoformat(outcome["run_date"]))
            result["extracted"] = outcome["extracted"]
            log.info("%s %s: %d campaign(s) created %s with %d contacts; %d rejected %s", config.name,
                     result["run_date"], result["campaigns_created"], result["vbot_campaign_ids"],
                     result["contacts_sent"], result["rejected"], result["rejected_by_reason"])
            context["outlet_events"][CAMPAIGNS_CREATED].extra = {
                "config": config.name, "run_date": result["run_date"], "campaigns": result["vbot_campaign_ids"]}
            return result

        groups = build_list()
        window = CallingWindowSensor(
            task_id="calling_window",
            run_date="{{ ti.xcom_pull(task_ids='build_list', key='run_date') }}",
            window_start=config.window_start,
            window_end=config.window_end,
            config_name=config.name,
        )
        created = create_campaign.expand(chunks=groups)
        groups >> window >> created >> summary()

    return campaign()


for _config in load_configs():
    if _config.enabled:
        globals()[_config.dag_id] = build_dag(_config)
