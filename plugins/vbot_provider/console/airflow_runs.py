"""Which Airflow task instance sent a campaign run: read from Airflow's metadata DB.

A ``create_campaign`` task instance is mapped per chunk and renders its map index as the campaign
name (``map_index_template``), so the task instance of a ``campaign_run`` row is the one of DAG
``vbot_campaign__<config>`` whose rendered map index is that name; of several DAG runs (a rerun
of the same day), the latest one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from vbotflow.campaigns.config import dag_id_for

CREATE_TASK_ID = "create_campaign"
BUILD_TASK_ID = "build_list"


@dataclass(frozen=True)
class TaskRef:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int


def create_tasks(runs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], TaskRef]:
    """``(config, campaign name)`` → the latest ``create_campaign`` task instance that handled it."""
    import sqlalchemy as sa
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    wanted = {(dag_id_for(config), name): (config, name) for config, name in runs}
    if not wanted:
        return {}
    query = (sa.select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.map_index,
                       TaskInstance.rendered_map_index)
             .where(TaskInstance.dag_id.in_({d for d, _ in wanted}), TaskInstance.task_id == CREATE_TASK_ID,
                    TaskInstance.rendered_map_index.in_({n for _, n in wanted}))
             .order_by(sa.func.coalesce(TaskInstance.start_date, TaskInstance.queued_dttm).asc()))
    found: dict[tuple[str, str], TaskRef] = {}
    with create_session() as session:
        for dag_id, run_id, map_index, name in session.execute(query):
            if (dag_id, name) in wanted:  # later rows overwrite earlier ones: the latest wins
                found[wanted[(dag_id, name)]] = TaskRef(dag_id, run_id, CREATE_TASK_ID, map_index)
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
