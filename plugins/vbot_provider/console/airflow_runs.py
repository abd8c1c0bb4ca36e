"""Which Airflow task instance sent a campaign run: read from Airflow's metadata DB.

A ``create_campaign`` task instance renders its map index (``map_index_template``) as the name of
its campaign or, on a day of more campaigns than the config's ``max_create_tasks``, as the first
and last names of its group of consecutive chunks (``vbotflow.campaigns.build.group_label``). The
task instance of a ``campaign_run`` row is the one of DAG ``vbot_campaign__<config>`` whose label
names its campaign or whose group holds its chunk; of several DAG runs (a rerun of the same day),
the latest one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from vbot_provider.console.present import as_utc
from vbotflow.campaigns.build import GROUP_LABEL_SEPARATOR, group_label_ends
from vbotflow.campaigns.config import dag_id_for

CREATE_TASK_ID = "create_campaign"
CLOCK_MARGIN = timedelta(hours=1)
BUILD_TASK_ID = "build_list"

# (config, campaign name) → (run date, chunk number) of the campaign_run rows with those names.
ChunkPositions = Callable[[Iterable[tuple[str, str]]], Mapping[tuple[str, str], tuple[date, int]]]


@dataclass(frozen=True)
class TaskRef:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int


def create_tasks(rows: Iterable[Mapping[str, Any]], chunk_positions: ChunkPositions) -> dict[str, TaskRef]:
    """Run key → the latest ``create_campaign`` task instance that handled it, for ``campaign_run`` rows."""
    import sqlalchemy as sa
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    rows = list(rows)
    if not rows:
        return {}
    config_of_dag = {dag_id_for(r["config_name"]): r["config_name"] for r in rows}
    started = sa.func.coalesce(TaskInstance.start_date, TaskInstance.queued_dttm)
    query = (sa.select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.map_index,
                       TaskInstance.rendered_map_index)
             .where(TaskInstance.dag_id.in_(set(config_of_dag)), TaskInstance.task_id == CREATE_TASK_ID,
                    # A create task runs after build_list wrote its rows: older ones (every group task of
                    # the DAG's history) cannot have handled these. An hour's margin for the clocks.
                    started >= min(as_utc(r["created_at"]) for r in rows) - CLOCK_MARGIN,
                    sa.or_(TaskInstance.rendered_map_index.in_({r["campaign_name"] for r in rows}),
                           TaskInstance.rendered_map_index.contains(GROUP_LABEL_SEPARATOR, autoescape=True)))
             .order_by(started.asc()))
    with create_session() as session:
        instances = [(config_of_dag[dag_id], TaskRef(dag_id, run_id, CREATE_TASK_ID, map_index), label,
                      group_label_ends(label)) for dag_id, run_id, map_index, label in session.execute(query)]
    positions = chunk_positions({(config, name) for config, _, _, ends in instances if ends for name in ends})
    found: dict[str, TaskRef] = {}
    for config, ref, label, ends in instances:  # oldest first: a later instance overwrites an earlier one
        if ends is None:
            handled = [r for r in rows if (r["config_name"], r["campaign_name"]) == (config, label)]
        else:
            first, last = positions.get((config, ends[0])), positions.get((config, ends[1]))
            if first is None or last is None or first[0] != last[0]:
                continue
            handled = [r for r in rows if r["config_name"] == config and r["run_date"] == first[0]
                       and first[1] <= r["chunk_number"] <= last[1]]
        for row in handled:
            found[row["run_key"]] = ref
    return found


def xcom_value(dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> object | None:
    """An XCom of a task instance, decoded from JSON; None when there is none."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        raw = session.execute(
            XComModel.get_many(key=key, run_id=run_id, dag_ids=dag_id, task_ids=task_id, map_indexes=map_index)
            .with_only_columns(XComModel.value)).scalar()
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw
