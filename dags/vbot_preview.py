"""vbot_preview: a campaign's day list, cleaned and written to files, with nothing sent and nothing recorded.

Previews live in a DAG of their own rather than behind a ``dry_run`` switch of the campaign DAGs:
the trigger form unpauses the DAG it triggers, and an unpaused campaign DAG starts its scheduled
run, which sends. This DAG has no schedule, no task that can reach VBot, and no outlet, so
whatever is ticked in its form it starts nothing else.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from vbot_provider.notifiers import failure_alert
from vbotflow.campaigns.config import CampaignConfig, load_configs

log = logging.getLogger("vbotflow.campaigns.preview")

DOC = """
### Preview a campaign list — sends nothing

Pick a campaign in the form and trigger: its list for the day is pulled from the CRM and cleaned
exactly as the campaign DAG would (phones, do-not-call, suppression, frequency cap, required
fields, duplicates), then written to files. **Nothing is sent to VBot, nothing is recorded**, no
other DAG is started; the `vbotflow_campaigns_created` asset is not touched.

**Trigger form**: `config` (the campaign), `run_date` (the day; empty: today in
Asia/Ho\\_Chi\\_Minh time), `limit` (at most N CRM rows; empty: all).

**Where to look**: the task log of **preview\\_list** says how many rows were read, accepted and
rejected (by reason) and where the files are: `<var>/previews/<config>/<run_date>/` with
`counts.json`, `rejected.csv` and `payload_chunk_001.json` — the first campaign's create body as
it would be sent, phones masked (`09******78`). The files hold customer names and amounts: they
stay on the server, never in the task log.

Outside Airflow the same preview is `vbotflow transform --config … --crm-url … --out …`.
"""


def preview_params(config_names: list[str], descriptions: dict[str, str]) -> dict[str, Param]:
    """The trigger form: the campaign from a drop-down, the day, a row limit."""
    return {
        "config": Param(config_names[0], type="string", enum=config_names, title="Campaign",
                        values_display=descriptions,
                        description="The campaign config (include/campaigns/<name>.yaml) whose list to preview."),
        "run_date": Param(None, type=["null", "string"], format="date", title="Run date",
                          description="The day whose list to preview. Empty: today in Asia/Ho_Chi_Minh."),
        # exclusiveMinimum, not minimum: the form's number field silently clamps to a minimum (-5
        # would become 1); with no minimum to clamp to, the value is refused when the run is triggered.
        "limit": Param(None, type=["null", "integer"], exclusiveMinimum=0, title="Limit",
                       description="At most this many CRM rows: a whole number, 1 or more. Empty: the whole list."),
    }


def build_preview_dag(configs: dict[str, CampaignConfig]) -> Any:
    names = sorted(configs)
    displays = {n: f"{n} — {configs[n].description}" if configs[n].description else n for n in names}

    @dag(
        dag_id="vbot_preview",
        dag_display_name="vbot_preview — look at a campaign list (sends nothing)",
        description="A campaign's list for a day, cleaned and written to files; nothing sent or recorded",
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        is_paused_upon_creation=False,  # no schedule: unpaused, it runs only when triggered
        tags=["vbot", "preview"],
        default_args={"retries": 1, "retry_delay": timedelta(seconds=30), "owner": "vbotflow",
                      "on_failure_callback": failure_alert},
        doc_md=DOC,
        params=preview_params(names, displays),
    )
    def vbot_preview() -> None:
        @task
        def preview_list(**context: Any) -> dict[str, Any]:
            """Writes the preview files; returns counts and paths (no personal data)."""
            from datetime import date

            from vbot_provider.preview import run_preview
            from vbot_provider.run_conf import refuse_unknown_conf
            from vbotflow.vbot.timestamps import today_in_vietnam

            params = context["params"]  # validated by the Param schema before the run starts
            refuse_unknown_conf(context["dag_run"].conf, preview_params(names, displays))
            run_date = date.fromisoformat(params["run_date"]) if params.get("run_date") else today_in_vietnam()
            outcome = run_preview(configs[params["config"]], run_date, params.get("limit"))
            log.info("%s", outcome.summary())
            return outcome.as_dict()

        preview_list()

    return vbot_preview()


_configs = {c.name: c for c in load_configs() if c.enabled}
if _configs:  # a drop-down needs at least one campaign
    preview = build_preview_dag(_configs)
