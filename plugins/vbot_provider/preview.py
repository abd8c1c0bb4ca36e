"""A campaign list preview inside Airflow (the ``vbot_preview`` DAG): reads connections, never sends.

Nothing here can reach VBot: the create bodies are built by the pure wire-format function, with
the ``vbot_id``/``group_code`` of the VBot connection when it has them, and only written to files.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from vbot_provider.connections import connection_engine, integration_engine
from vbotflow.campaigns.build import BodyBuilder, PreviewOutcome, preview_daily_list
from vbotflow.campaigns.config import CampaignConfig
from vbotflow.campaigns.preview import preview_dir
from vbotflow.settings import var_dir
from vbotflow.vbot.api import build_create_body

VBOT_CONN_ID = "vbot_default"


def preview_body_builder(config: CampaignConfig, vbot_conn_id: str = VBOT_CONN_ID) -> BodyBuilder:
    """Create bodies exactly as a run would send them; placeholders where the connection says nothing."""
    try:
        extra: dict[str, Any] = BaseHook.get_connection(vbot_conn_id).extra_dejson
    except AirflowNotFoundException:
        extra = {}
    vbot_id = str(extra.get("vbot_id") or "VBOT_ID")
    group_code = config.group_code or str(extra.get("group_code") or "GROUP_CODE")

    def body(name: str, contacts: list[dict[str, str]]) -> dict[str, Any]:
        return build_create_body(vbot_id=vbot_id, group_code=group_code, template_id=config.template_id,
                                 name=name, contacts=contacts)

    return body


def run_preview(config: CampaignConfig, run_date: date, limit: int | None = None) -> PreviewOutcome:
    """Build ``config``'s list for ``run_date`` into ``<var>/previews/<config>/<date>/``."""
    with connection_engine(config.crm_conn_id) as crm, integration_engine() as db:
        return preview_daily_list(config=config, run_date=run_date, crm_engine=crm, db_engine=db,
                                  body_for=preview_body_builder(config), limit=limit,
                                  out_dir=preview_dir(var_dir(), config.name, run_date.isoformat()))
